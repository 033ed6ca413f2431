//! Project tasks. The README's two commands live here:
//!
//! - `cargo xtask serve [--port 8080] [--base /softplay/]` — installs what is missing, builds the
//!   release site and serves `dist/` on http://127.0.0.1:8080.
//! - `cargo xtask test` — installs what is missing and runs every test: formatting and lints,
//!   native tests, kernels in headless Chromium (WebGPU included), the end-to-end tests
//!   against the built site served from a sub-path, and a smoke run of every page in Firefox ESR
//!   and WebKit.
//!
//! Also `cargo xtask build` (the site only), `cargo xtask e2e`, `cargo xtask smoke [firefox]
//! [webkit]`, `cargo xtask bench attention`
//! (ours against tfjs-wasm and onnxruntime-web), `cargo xtask bench activations` (simd128
//! against scalar), `cargo xtask bench model` (training steps against tfjs-wasm) and `cargo
//! xtask bench model --gpu` (on WebGPU, against our CPU and tfjs-webgpu), all in
//! `bench.rs`; `cargo xtask fuzz` (a million mutated links per lab and a million mutated
//! checkpoints, in `fuzz.rs`). Each step prints what it does and
//! how long it took. Nothing here downloads a browser, a toolchain or a tool binary from outside
//! the package registries: tools come from the Rust package registry (built from source), npm, PyPI and Debian.

mod bench;
mod fuzz;
mod house;
mod serve;
mod stamp;
mod tools;

use std::{
    env,
    path::{Path, PathBuf},
    process::{Command, ExitCode},
    time::Instant,
};

/// The repository root (xtask lives one level below it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits in the repository").to_path_buf()
}

/// A failed step: what failed, and what to do about it.
pub struct Failure(pub String);

pub type Step = Result<(), Failure>;

/// Runs one named step, printing its name and elapsed time.
pub fn step(name: &str, f: impl FnOnce() -> Step) -> Step {
    println!("\n==> {name}");
    let start = Instant::now();
    let result = f();
    let secs = start.elapsed().as_secs_f64();
    match &result {
        Ok(()) => println!("<== {name}: ok in {secs:.1} s"),
        Err(Failure(why)) => println!("<== {name}: FAILED after {secs:.1} s\n    {why}"),
    }
    result
}

/// Runs a command in the repository root, echoing it; fails if it exits non-zero.
pub fn run(cmd: &mut Command) -> Step {
    cmd.current_dir(root());
    println!("    $ {}", describe(cmd));
    match cmd.status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(Failure(format!("`{}` exited with {status}", describe(cmd)))),
        Err(e) => Err(Failure(format!("could not run `{}`: {e}", describe(cmd)))),
    }
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}

/// `cargo`, as the running toolchain's.
pub fn cargo() -> Command {
    Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// PATH with the project's npm tools (wasm-opt) in front.
pub fn path_with_node_tools() -> String {
    let bin = root().join("node_modules/.bin");
    format!("{}:{}", bin.display(), env::var("PATH").unwrap_or_default())
}

/// Builds the release site into `dist/` with trunk, then stamps it with its build id.
fn build_site() -> Step {
    step("build the release site (trunk)", || {
        // trunk builds offline (trunk.toml): the crates come from the registry first, so that a
        // fresh clone builds with `cargo xtask build` alone.
        run(cargo().args(["fetch", "--locked"]))?;
        run(Command::new("trunk")
            .args(["build", "--config", "trunk.toml", "--release"])
            .env("PATH", path_with_node_tools()))?;
        let id = stamp::stamp(&root().join("dist"))?;
        println!("    build id {id}: every file the page loads carries it (name hash or ?v={id})");
        Ok(())
    })
}

fn serve_cmd(args: &[String]) -> Step {
    let mut port = 8080u16;
    let mut base = "/".to_string();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--port" => {
                port = it
                    .next()
                    .and_then(|p| p.parse().ok())
                    .ok_or_else(|| Failure("--port needs a number 1..65535".into()))?
            }
            "--base" => {
                base = it.next().cloned().ok_or_else(|| Failure("--base needs a path like /softplay/".into()))?
            }
            other => return Err(Failure(format!("unknown option {other}; serve takes --port N and --base /path/"))),
        }
    }
    let start = Instant::now();
    tools::ensure_build_tools()?;
    build_site()?;
    println!("\nReady in {:.0} s.", start.elapsed().as_secs_f64());
    serve::serve_forever(&root().join("dist"), port, &base)
}

fn test_cmd() -> Step {
    let start = Instant::now();
    tools::ensure_build_tools()?;
    tools::ensure_test_tools()?;
    let mut results = Vec::new();
    let mut record = |name: &str, r: Step| {
        results.push((name.to_string(), r.is_ok()));
    };

    record("format", step("cargo fmt --check", || run(cargo().args(["fmt", "--all", "--check"]))));
    record(
        "clippy native",
        step("clippy, native", || {
            run(cargo().args(["clippy", "--workspace", "--all-targets", "--all-features", "--", "-D", "warnings"]))
        }),
    );
    record(
        "clippy wasm32",
        step("clippy, wasm32", || {
            run(cargo().args([
                "clippy",
                "--workspace",
                "--exclude",
                "xtask",
                "--all-targets",
                "--all-features",
                "--target",
                "wasm32-unknown-unknown",
                "--",
                "-D",
                "warnings",
            ]))
        }),
    );
    record(
        "docs",
        step("cargo doc, warnings denied", || {
            run(cargo()
                .args(["doc", "--workspace", "--no-deps", "--all-features", "--document-private-items"])
                .env("RUSTDOCFLAGS", "-D warnings"))
        }),
    );
    record(
        "native tests",
        step("native tests (kernels with the GPU path on lavapipe, URL codec, protocol)", || {
            run(cargo().args(["test", "--workspace", "--all-features"]).env("SOFTPLAY_REQUIRE_GPU", "1"))
        }),
    );
    record(
        "wasm tests",
        step("kernels in headless Chromium (wasm-bindgen-test, WebGPU on SwiftShader)", || {
            run(cargo()
                .args(["test", "-p", "softplay-kernels", "--features", "gpu", "--target", "wasm32-unknown-unknown"])
                .env("CHROMEDRIVER", tools::CHROMEDRIVER)
                .env("WASM_BINDGEN_TEST_TIMEOUT", "480"))
        }),
    );
    let built = build_site();
    let site_ok = built.is_ok();
    record("site build", built);
    if site_ok {
        record("end-to-end", step("end-to-end tests (Playwright, Chromium, site under /softplay/)", e2e));
        record("smoke", step(SMOKE_STEP, || smoke(&[])));
    }

    let failed: Vec<&str> = results.iter().filter(|(_, ok)| !ok).map(|(n, _)| n.as_str()).collect();
    println!("\nTest steps in {:.0} s (each step's own test counts are above):", start.elapsed().as_secs_f64());
    for (name, ok) in &results {
        println!("    {} {name}", if *ok { "ok    " } else { "FAILED" });
    }
    println!("steps: {} passed, {} failed", results.len() - failed.len(), failed.len());
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failure(format!("failed steps: {}", failed.join(", "))))
    }
}

/// Serves `dist/` under /softplay/ on a free port and runs `node` with `args` against it
/// (SOFTPLAY_URL, and SOFTPLAY_E2E_OUT = target/e2e for what the tests write), with `env`.
fn node_against_dist(args: &[&str], env: &[(&str, &str)]) -> Step {
    let server = serve::Server::start(&root().join("dist"), 0, "/softplay/")?;
    let url = format!("http://127.0.0.1:{}/softplay/", server.port);
    println!("    serving dist/ at {url}");
    let out = root().join("target/e2e");
    std::fs::create_dir_all(&out).map_err(|e| Failure(format!("cannot create {}: {e}", out.display())))?;
    run(Command::new("node")
        .args(args)
        .env("SOFTPLAY_URL", &url)
        .env("SOFTPLAY_E2E_OUT", &out)
        .envs(env.iter().copied()))
}

/// The Playwright tests against the built site.
fn e2e() -> Step {
    node_against_dist(
        &["--test", "--test-concurrency=1", "--test-reporter=spec", "e2e/"],
        &[("CHROMIUM", tools::CHROMIUM)],
    )
}

const SMOKE_STEP: &str = "smoke run of every page in Firefox ESR and WebKit (site under /softplay/)";

/// Serves `dist/` under /softplay/ on a free port and runs the smoke run (e2e/browsers/smoke.mjs)
/// against it: every page in Firefox ESR (WebDriver BiDi) and in WebKit (WebKitWebDriver and
/// MiniBrowser under xvfb-run), or only the `browsers` named.
fn smoke(browsers: &[String]) -> Step {
    if !root().join("dist/index.html").exists() {
        return Err(Failure("dist/ is not built: run `cargo xtask build` first".into()));
    }
    let minibrowser = tools::minibrowser()?;
    let args: Vec<&str> =
        std::iter::once("e2e/browsers/smoke.mjs").chain(browsers.iter().map(String::as_str)).collect();
    node_against_dist(
        &args,
        &[("FIREFOX", tools::FIREFOX), ("WEBKIT_DRIVER", tools::WEBKIT_DRIVER), ("MINIBROWSER", &minibrowser)],
    )
}

/// Puts the folder `cargo install` writes to (`$CARGO_HOME/bin`, `~/.cargo/bin` by default) on
/// PATH, so that the tools installed here are found even when the shell's PATH lacks it.
fn put_cargo_bin_on_path() {
    let home = env::var("CARGO_HOME").ok().or_else(|| env::var("HOME").ok().map(|h| format!("{h}/.cargo")));
    if let Some(home) = home {
        let bin = format!("{home}/bin");
        let path = env::var("PATH").unwrap_or_default();
        if !path.split(':').any(|p| p == bin) {
            // xtask is single-threaded here, before any command runs.
            env::set_var("PATH", format!("{bin}:{path}"));
        }
    }
}

fn main() -> ExitCode {
    put_cargo_bin_on_path();
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("serve") => serve_cmd(&args[1..]),
        Some("test") => test_cmd(),
        Some("build") => tools::ensure_build_tools().and_then(|_| build_site()),
        // The end-to-end tests alone, against the dist/ already built.
        Some("e2e") => step("end-to-end tests (Playwright, Chromium, site under /softplay/)", e2e),
        // The smoke run alone, against the dist/ already built: its browsers and node_modules
        // are installed when missing, nothing is built.
        Some("smoke") => tools::ensure_test_tools()
            .and_then(|_| step("check node_modules", tools::ensure_node_modules))
            .and_then(|_| step(SMOKE_STEP, || smoke(&args[1..]))),
        Some("bench") => bench::bench_cmd(&args[1..]),
        Some("fuzz") => fuzz::fuzz_cmd(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask serve [--port 8080] [--base /softplay/] | test | build | e2e | smoke [firefox] [webkit] | fuzz [--links N] [--checkpoints N] | bench attention | bench activations | bench model [--gpu [SIZE …]]"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(why)) => {
            eprintln!("\nerror: {why}");
            ExitCode::FAILURE
        }
    }
}
