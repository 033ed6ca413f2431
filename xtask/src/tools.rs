//! Installs what the build and the tests need, from the package registries only: the wasm32
//! target (rustup), trunk and wasm-bindgen-cli (the Rust package registry, built from source), wasm-opt,
//! Playwright and puppeteer-core (npm), Chromium, ChromeDriver, the lavapipe Vulkan driver,
//! Firefox ESR, WebKitGTK's WebKitWebDriver with its MiniBrowser, and Xvfb (Debian). A step
//! that needs root and does not have it stops with the exact command to run.

use std::{fs, path::Path, process::Command};

use crate::{cargo, root, run, step, Failure, Step};

pub const TRUNK_VERSION: &str = "0.21.14";
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const FIREFOX: &str = "/usr/bin/firefox-esr";
pub const WEBKIT_DRIVER: &str = "/usr/bin/WebKitWebDriver";
pub const XVFB_RUN: &str = "/usr/bin/xvfb-run";
/// Debian packages the tests need: Chromium and its driver, and Mesa's software Vulkan driver
/// (lavapipe) for the native GPU tests; for the smoke run, Firefox ESR, and WebKitGTK's
/// WebKitWebDriver (its MiniBrowser comes with libwebkit2gtk-4.1-0) with the X server it draws
/// into (xvfb-run, which needs xauth).
const APT_PACKAGES: [&str; 8] = [
    "chromium",
    "chromium-driver",
    "mesa-vulkan-drivers",
    "libvulkan1",
    "firefox-esr",
    "webkit2gtk-driver",
    "xvfb",
    "xauth",
];

/// What `cmd --version` prints, if it runs.
fn version_of(program: &str) -> Option<String> {
    let out = Command::new(program).arg("--version").output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The wasm-bindgen version that Cargo.lock pins: the CLI must match it exactly.
pub fn locked_wasm_bindgen() -> Result<String, Failure> {
    let lock =
        fs::read_to_string(root().join("Cargo.lock")).map_err(|e| Failure(format!("reading Cargo.lock: {e}")))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\"" {
            if let Some(v) = lines.next().and_then(|l| l.strip_prefix("version = \"")) {
                return Ok(v.trim_end_matches('"').to_string());
            }
        }
    }
    Err(Failure("Cargo.lock names no wasm-bindgen version".into()))
}

/// The Rust version the project is built and tested with: `rust-version` of the workspace's
/// `Cargo.toml`, stated once there.
pub fn stated_rust_version() -> Result<String, Failure> {
    let manifest =
        fs::read_to_string(root().join("Cargo.toml")).map_err(|e| Failure(format!("reading Cargo.toml: {e}")))?;
    manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix("rust-version = \"").map(|v| v.trim_end_matches('"').to_string()))
        .ok_or_else(|| Failure("Cargo.toml's [workspace.package] states no rust-version".into()))
}

/// `major.minor` of a version text ("1.95.0" or "rustc 1.95.0 (…)").
fn major_minor(text: &str) -> Option<(u32, u32)> {
    let version = text.split_whitespace().find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))?;
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next()??))
}

/// Checks the installed rustc against the stated version: an older one cannot build the project
/// (stop, saying so); a newer one may lint differently (say so, and go on).
fn check_rust_version() -> Step {
    let stated = stated_rust_version()?;
    let installed = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .ok_or_else(|| Failure("could not run rustc --version".into()))?;
    let (Some(want), Some(have)) = (major_minor(&stated), major_minor(&installed)) else {
        return Err(Failure(format!("cannot read the Rust versions ({stated:?} stated, {installed:?} installed)")));
    };
    if have < want {
        return Err(Failure(format!(
            "this project is built and tested with Rust {stated} (rust-version in Cargo.toml), but {installed} is \
             installed: install Rust {stated} or newer with rustup as the `stable` toolchain"
        )));
    }
    if have > want {
        println!(
            "    note: {installed} is newer than the Rust {stated} the project is tested with (rust-version in \
             Cargo.toml); new lints may fail the clippy steps"
        );
    } else {
        println!("    {installed}: the stated Rust {stated}");
    }
    Ok(())
}

pub fn ensure_build_tools() -> Step {
    step("check the build tools (Rust version, wasm32 target, trunk, wasm-bindgen-cli, wasm-opt)", || {
        check_rust_version()?;
        let targets = Command::new("rustup").args(["target", "list", "--installed"]).output();
        let has_wasm = targets.map(|o| String::from_utf8_lossy(&o.stdout).contains("wasm32-unknown-unknown"));
        match has_wasm {
            Ok(true) => println!("    wasm32-unknown-unknown: installed"),
            _ => run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?,
        }

        let want_trunk = format!("trunk {TRUNK_VERSION}");
        match version_of("trunk") {
            Some(v) if v == want_trunk => println!("    {v}: installed"),
            other => {
                println!("    trunk: found {other:?}, installing {TRUNK_VERSION} (a few minutes)");
                run(cargo().args(["install", "--locked", "trunk", "--version", TRUNK_VERSION]))?;
            }
        }

        let bindgen = locked_wasm_bindgen()?;
        let want = format!("wasm-bindgen {bindgen}");
        match version_of("wasm-bindgen") {
            Some(v) if v == want => println!("    {v}: installed"),
            other => {
                println!("    wasm-bindgen: found {other:?}, installing {bindgen} to match Cargo.lock");
                // No --locked: its lock file names a crate version the registry no longer has.
                run(cargo().args(["install", "wasm-bindgen-cli", "--version", &bindgen]))?;
            }
        }
        let manifest = fs::read_to_string(root().join("Cargo.toml")).unwrap_or_default();
        if !manifest.contains(&format!("wasm-bindgen = \"={bindgen}\"")) {
            return Err(Failure(format!(
                "Cargo.toml's [workspace.dependencies] must pin wasm-bindgen = \"={bindgen}\" (the version in Cargo.lock)"
            )));
        }
        let trunk_toml = fs::read_to_string(root().join("trunk.toml")).unwrap_or_default();
        if !trunk_toml.contains(&format!("wasm_bindgen = \"{bindgen}\"")) {
            return Err(Failure(format!(
                "trunk.toml's [tools] wasm_bindgen must be \"{bindgen}\" (the version in Cargo.lock)"
            )));
        }

        ensure_node_modules()
    })
}

/// `npm ci` when node_modules is missing or older than package-lock.json.
pub fn ensure_node_modules() -> Step {
    let root = root();
    let stamp = root.join("node_modules/.package-lock.json");
    let fresh = match (fs::metadata(&stamp), fs::metadata(root.join("package-lock.json"))) {
        (Ok(s), Ok(l)) => s.modified().ok() >= l.modified().ok(),
        _ => false,
    };
    if fresh && root.join("node_modules/.bin/wasm-opt").exists() && root.join("node_modules/puppeteer-core").exists() {
        println!("    node_modules (wasm-opt, playwright-core, puppeteer-core): installed");
        Ok(())
    } else {
        // puppeteer-core downloads nothing; the variable keeps it so should that ever change.
        run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).env("PUPPETEER_SKIP_DOWNLOAD", "1"))
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

fn apt_missing() -> Vec<&'static str> {
    APT_PACKAGES
        .into_iter()
        .filter(|pkg| {
            let out = Command::new("dpkg-query").args(["-W", "-f=${Status}", pkg]).output();
            !matches!(out, Ok(o) if String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        })
        .collect()
}

/// WebKitGTK's MiniBrowser, which WebKitWebDriver starts: where libwebkit2gtk-4.1-0 put it (a
/// folder named by the machine's architecture).
pub fn minibrowser() -> Result<String, Failure> {
    let out = Command::new("dpkg-query").args(["-L", "libwebkit2gtk-4.1-0"]).output();
    let listed = out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
    listed
        .lines()
        .find(|l| l.ends_with("/webkit2gtk-4.1/MiniBrowser") && Path::new(l).exists())
        .map(str::to_string)
        .ok_or_else(|| Failure("libwebkit2gtk-4.1-0 has no MiniBrowser (webkit2gtk-driver installs it)".into()))
}

pub fn ensure_test_tools() -> Step {
    step("check the test tools (Chromium, ChromeDriver, lavapipe, Firefox ESR, WebKitWebDriver, Xvfb)", || {
        let missing = apt_missing();
        if missing.is_empty() {
            println!("    {}: installed", APT_PACKAGES.join(", "));
        } else if is_root() {
            run(Command::new("apt-get").arg("update").arg("-q"))?;
            run(Command::new("apt-get")
                .args(["install", "-y", "-q", "--no-install-recommends"])
                .args(&missing)
                .env("DEBIAN_FRONTEND", "noninteractive"))?;
        } else {
            return Err(Failure(format!(
                "these Debian packages are missing and installing them needs root; run:\n    sudo apt-get update && sudo apt-get install -y {}",
                missing.join(" ")
            )));
        }
        for path in [CHROMIUM, CHROMEDRIVER, FIREFOX, WEBKIT_DRIVER, XVFB_RUN] {
            if !Path::new(path).exists() {
                return Err(Failure(format!(
                    "{path} is missing after installing the Debian packages {}",
                    APT_PACKAGES.join(", ")
                )));
            }
        }
        println!("    MiniBrowser: {}", minibrowser()?);
        Ok(())
    })
}
