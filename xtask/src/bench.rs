//! `cargo xtask bench attention`: causal attention forward (d = 64, n = 256, 1024, 4096),
//! ours against tfjs-wasm and onnxruntime-web in one headless Chromium page, plus ours
//! natively, written to `target/bench/attention.json` and to the marked section of
//! `docs/BENCHMARKS.md`.
//!
//! Steps: build `bench/wasm` for wasm32 twice (simd128, and scalar in its own target dir) and
//! run wasm-bindgen on each; build it natively; write the ONNX models (`tools/
//! make_attention_onnx.py`); assemble `target/bench/site` (the page, both builds, the peers'
//! files from node_modules, the models); time natively; serve the site on 127.0.0.1 and run
//! `bench/run.mjs`, which drives the page and renders the section; splice it into the docs.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Instant,
};

use crate::{cargo, root, run, serve, step, tools, Failure, Step};

const SIZES: [&str; 3] = ["256", "1024", "4096"];
const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// opt-level 3, like the compute worker that ships the kernels.
const PROFILE: &str = "release-worker";
const START: &str = "<!-- attention-bench:start -->";
const END: &str = "<!-- attention-bench:end -->";
const ACTIVATIONS_START: &str = "<!-- activation-bench:start -->";
const ACTIVATIONS_END: &str = "<!-- activation-bench:end -->";
const MODEL_START: &str = "<!-- model-bench:start -->";
const MODEL_END: &str = "<!-- model-bench:end -->";
const MODEL_GPU_START: &str = "<!-- model-gpu-bench:start -->";
const MODEL_GPU_END: &str = "<!-- model-gpu-bench:end -->";

pub fn bench_cmd(args: &[String]) -> Step {
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["attention"] => attention(),
        ["activations"] => activations(),
        ["model"] => model(),
        ["model", "--gpu", ref sizes @ ..] => model_gpu(sizes),
        _ => Err(Failure("usage: cargo xtask bench attention | activations | model | model --gpu [SIZE …]".into())),
    }
}

fn io(what: &str, path: &Path) -> impl FnOnce(std::io::Error) -> Failure {
    let path = path.display().to_string();
    let what = what.to_string();
    move |e| Failure(format!("{what} {path}: {e}"))
}

fn copy(from: &Path, to: &Path) -> Step {
    fs::create_dir_all(to.parent().expect("a file has a folder")).map_err(io("cannot create the folder of", to))?;
    fs::copy(from, to).map(|_| ()).map_err(io("cannot copy", from))
}

/// Builds `softplay-bench` for wasm32 and runs wasm-bindgen on it into `out`. `scalar` turns
/// simd128 off (RUSTFLAGS replaces the `+simd128` of .cargo/config.toml) in its own target dir;
/// `features` are the crate's (`gpu` for the GPU page).
fn build_wasm(out: &Path, scalar: bool, features: &[&str]) -> Step {
    let target_dir = root().join(if scalar { "target/bench-scalar" } else { "target" });
    let mut build = cargo();
    build.args(["build", "--lib", "-p", "softplay-bench", "--profile", PROFILE, "--target", WASM_TARGET]);
    if !features.is_empty() {
        build.arg("--features").arg(features.join(","));
    }
    build.arg("--target-dir").arg(&target_dir).env_remove("CARGO_ENCODED_RUSTFLAGS");
    if scalar {
        build.env("RUSTFLAGS", "-C target-feature=-simd128");
    } else {
        build.env_remove("RUSTFLAGS");
    }
    run(&mut build)?;
    let wasm = target_dir.join(WASM_TARGET).join(PROFILE).join("softplay_bench.wasm");
    run(Command::new("wasm-bindgen").args(["--target", "web", "--no-typescript", "--out-dir"]).arg(out).arg(wasm))
}

/// `import onnx` works, or `python3 -m pip install onnx` makes it work.
fn ensure_onnx() -> Step {
    let has = |quiet: bool| {
        let mut cmd = Command::new("python3");
        cmd.args(["-c", "import onnx"]);
        if quiet {
            cmd.stderr(Stdio::null());
        }
        cmd.status().map(|s| s.success()).unwrap_or(false)
    };
    if has(true) {
        println!("    python3: onnx installed");
        return Ok(());
    }
    run(Command::new("python3").args(["-m", "pip", "install", "onnx"]))?;
    if has(false) {
        Ok(())
    } else {
        Err(Failure("python3 cannot import onnx after `python3 -m pip install onnx`".into()))
    }
}

/// tfjs-core and its wasm backend from node_modules into `site/tfjs`.
fn copy_tfjs(site: &Path) -> Step {
    let root = root();
    let tfjs = [
        ("@tensorflow/tfjs-core/dist", "tf-core.min.js"),
        ("@tensorflow/tfjs-backend-wasm/dist", "tf-backend-wasm.min.js"),
        ("@tensorflow/tfjs-backend-wasm/dist", "tfjs-backend-wasm.wasm"),
        ("@tensorflow/tfjs-backend-wasm/dist", "tfjs-backend-wasm-simd.wasm"),
        ("@tensorflow/tfjs-backend-wasm/dist", "tfjs-backend-wasm-threaded-simd.wasm"),
    ];
    for (dir, file) in tfjs {
        copy(&root.join("node_modules").join(dir).join(file), &site.join("tfjs").join(file))?;
    }
    Ok(())
}

/// The page, and the peers' files from node_modules, into `site`.
fn assemble(site: &Path) -> Step {
    let root = root();
    for file in ["index.html", "bench.mjs", "timing.mjs"] {
        copy(&root.join("bench/page").join(file), &site.join(file))?;
    }
    copy_tfjs(site)?;
    // The wasm EP's ES module, and the one runtime it loads on a page that is not
    // cross-origin isolated (its threaded build runs with one thread there).
    for file in ["ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"] {
        copy(&root.join("node_modules/onnxruntime-web/dist").join(file), &site.join("ort").join(file))?;
    }
    Ok(())
}

/// Replaces the text between the markers `start` and `end` of `doc` with `section` (appending
/// them if missing).
fn splice_between(doc: &str, section: &str, start: &str, end: &str) -> String {
    let block = format!("{start}\n{section}{end}");
    match (doc.find(start), doc.find(end)) {
        (Some(s), Some(e)) if s < e => format!("{}{block}{}", &doc[..s], &doc[e + end.len()..]),
        _ => format!("{}\n\n{block}\n", doc.trim_end()),
    }
}

/// Writes `section` (from `out/<name>.md`) between its markers in docs/BENCHMARKS.md.
fn update_docs(section_path: &Path, start: &str, end: &str) -> Step {
    let section = fs::read_to_string(section_path).map_err(io("cannot read", section_path))?;
    let doc_path: PathBuf = root().join("docs/BENCHMARKS.md");
    let doc = fs::read_to_string(&doc_path).map_err(io("cannot read", &doc_path))?;
    fs::write(&doc_path, splice_between(&doc, &section, start, end)).map_err(io("cannot write", &doc_path))?;
    println!("{section}");
    Ok(())
}

/// `cargo xtask bench activations`: the elementwise forward passes, simd128 against scalar,
/// in one page (`bench/page/activations.html`, driven by `bench/run-activations.mjs`).
fn activations() -> Step {
    let start = Instant::now();
    tools::ensure_build_tools()?;
    tools::ensure_test_tools()?;
    let root = root();
    let out = root.join("target/bench");
    let site = out.join("activations-site");
    step("build ours for wasm32: simd128, then scalar", || {
        if site.exists() {
            fs::remove_dir_all(&site).map_err(io("cannot remove", &site))?;
        }
        build_wasm(&site.join("simd"), false, &[])?;
        build_wasm(&site.join("scalar"), true, &[])?;
        for file in ["activations.html", "activations.mjs", "timing.mjs"] {
            copy(&root.join("bench/page").join(file), &site.join(file))?;
        }
        Ok(())
    })?;
    step("time the activations in headless Chromium", || {
        let server = serve::Server::start(&site, 0, "/")?;
        let url = format!("http://127.0.0.1:{}/activations.html", server.port);
        println!("    serving {} at {url}", site.display());
        run(Command::new("node")
            .arg("bench/run-activations.mjs")
            .env("BENCH_URL", &url)
            .env("BENCH_OUT", &out)
            .env("CHROMIUM", tools::CHROMIUM)
            .env("BENCH_COMMAND", "cargo xtask bench activations"))
    })?;
    step("update docs/BENCHMARKS.md", || update_docs(&out.join("activations.md"), ACTIVATIONS_START, ACTIVATIONS_END))?;
    println!("\nBenchmark done in {:.0} s.", start.elapsed().as_secs_f64());
    Ok(())
}

/// Runs `cargo run -p softplay-bench --bin <bin> [--features …] -- <args>` and writes its
/// stdout to `json`.
fn run_native(bin: &str, features: &[&str], args: &[&str], json: &Path) -> Step {
    let mut cmd = cargo();
    cmd.args(["run", "--quiet", "-p", "softplay-bench", "--bin", bin, "--profile", PROFILE]);
    let features = features.join(",");
    if !features.is_empty() {
        cmd.args(["--features", &features]);
    }
    cmd.arg("--").args(args).current_dir(root()).stderr(Stdio::inherit());
    println!(
        "    $ cargo run -p softplay-bench --bin {bin} --profile {PROFILE} --features '{features}' -- {}",
        args.join(" ")
    );
    let output = cmd.output().map_err(|e| Failure(format!("could not run the native benchmark: {e}")))?;
    if !output.status.success() {
        return Err(Failure(format!("the native benchmark exited with {}", output.status)));
    }
    fs::write(json, &output.stdout).map_err(io("cannot write", json))
}

/// `cargo xtask bench model`: training steps of the transformer (about 100k and 1M
/// parameters) against the same architecture in tfjs-wasm, in one page
/// (`bench/page/model.html`, driven by `bench/run-model.mjs`), and natively
/// (`src/bin/model.rs`); written to `target/bench/model.json` and the marked section of
/// `docs/BENCHMARKS.md`.
fn model() -> Step {
    let start = Instant::now();
    tools::ensure_build_tools()?;
    tools::ensure_test_tools()?;
    let root = root();
    let out = root.join("target/bench");
    let site = out.join("model-site");
    step("build ours for wasm32 (simd128) and natively", || {
        if site.exists() {
            fs::remove_dir_all(&site).map_err(io("cannot remove", &site))?;
        }
        build_wasm(&site.join("simd"), false, &[])?;
        run(cargo().args(["build", "-p", "softplay-bench", "--bin", "model", "--profile", PROFILE]))
    })?;
    step("assemble the site", || {
        for file in ["model.html", "model.mjs", "tfjs-model.mjs", "timing.mjs"] {
            copy(&root.join("bench/page").join(file), &site.join(file))?;
        }
        // Training needs the gradients, which @tensorflow/tfjs registers (tfjs-core alone has
        // none); the wasm backend's files are the same.
        copy(&root.join("node_modules/@tensorflow/tfjs/dist/tf.min.js"), &site.join("tfjs/tf.min.js"))?;
        copy_tfjs(&site)
    })?;
    let native_json = out.join("model-native.json");
    step("time ours natively", || run_native("model", &[], &[], &native_json))?;
    step("time ours and tfjs-wasm in headless Chromium", || {
        let server = serve::Server::start(&site, 0, "/")?;
        let url = format!("http://127.0.0.1:{}/model.html", server.port);
        println!("    serving {} at {url}", site.display());
        run(Command::new("node")
            .arg("bench/run-model.mjs")
            .env("BENCH_URL", &url)
            .env("BENCH_OUT", &out)
            .env("NATIVE_JSON", &native_json)
            .env("CHROMIUM", tools::CHROMIUM)
            .env("BENCH_COMMAND", "cargo xtask bench model"))
    })?;
    step("update docs/BENCHMARKS.md", || update_docs(&out.join("model.md"), MODEL_START, MODEL_END))?;
    println!(
        "\nBenchmark done in {:.0} s; figures in {}.",
        start.elapsed().as_secs_f64(),
        out.join("model.json").display()
    );
    Ok(())
}

/// `cargo xtask bench model --gpu [SIZE …]`: training steps on the GPU — ours on WebGPU, ours on
/// the CPU and the same model in tfjs-webgpu in one page (`bench/page/model-gpu.html`, driven by
/// `bench/run-model-gpu.mjs`), and ours natively on Vulkan — at about 100k, 1M and 10M
/// parameters (a software adapter: 100k only, one short sample, no speed quoted); written to
/// `target/bench/model-gpu.json` and the marked section of `docs/BENCHMARKS.md`.
fn model_gpu(sizes: &[&str]) -> Step {
    let start = Instant::now();
    tools::ensure_build_tools()?;
    tools::ensure_test_tools()?;
    let root = root();
    let out = root.join("target/bench");
    let site = out.join("model-gpu-site");
    step("build ours with the GPU path for wasm32 (simd128) and natively", || {
        if site.exists() {
            fs::remove_dir_all(&site).map_err(io("cannot remove", &site))?;
        }
        build_wasm(&site.join("gpu"), false, &["gpu"])?;
        let native = ["build", "-p", "softplay-bench", "--bin", "model", "--profile", PROFILE];
        run(cargo().args(native).args(["--features", "gpu"]))
    })?;
    step("assemble the site", || {
        for file in ["model-gpu.html", "model-gpu.mjs", "tfjs-model.mjs", "timing.mjs"] {
            copy(&root.join("bench/page").join(file), &site.join(file))?;
        }
        copy(&root.join("node_modules/@tensorflow/tfjs/dist/tf.min.js"), &site.join("tfjs/tf.min.js"))?;
        let webgpu = "node_modules/@tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.min.js";
        copy(&root.join(webgpu), &site.join("tfjs/tf-backend-webgpu.min.js"))
    })?;
    let native_json = out.join("model-gpu-native.json");
    let native_args: Vec<&str> = ["--gpu"].into_iter().chain(sizes.iter().copied()).collect();
    step("time ours natively on Vulkan", || run_native("model", &["gpu"], &native_args, &native_json))?;
    step("time ours (WebGPU and CPU) and tfjs-webgpu in headless Chromium", || {
        let server = serve::Server::start(&site, 0, "/")?;
        let query = if sizes.is_empty() { String::new() } else { format!("?sizes={}", sizes.join(",")) };
        let url = format!("http://127.0.0.1:{}/model-gpu.html{query}", server.port);
        println!("    serving {} at {url}", site.display());
        run(Command::new("node")
            .arg("bench/run-model-gpu.mjs")
            .env("BENCH_URL", &url)
            .env("BENCH_OUT", &out)
            .env("NATIVE_JSON", &native_json)
            .env("CHROMIUM", tools::CHROMIUM)
            .env("BENCH_COMMAND", format!("cargo xtask bench model --gpu {}", sizes.join(" ")).trim_end()))
    })?;
    step("update docs/BENCHMARKS.md", || update_docs(&out.join("model-gpu.md"), MODEL_GPU_START, MODEL_GPU_END))?;
    println!(
        "\nBenchmark done in {:.0} s; figures in {}.",
        start.elapsed().as_secs_f64(),
        out.join("model-gpu.json").display()
    );
    Ok(())
}

fn attention() -> Step {
    let start = Instant::now();
    tools::ensure_build_tools()?;
    tools::ensure_test_tools()?;
    let root = root();
    let out = root.join("target/bench");
    let site = out.join("site");

    step("build ours for wasm32: simd128, then scalar", || {
        if site.exists() {
            fs::remove_dir_all(&site).map_err(io("cannot remove", &site))?;
        }
        build_wasm(&site.join("simd"), false, &[])?;
        build_wasm(&site.join("scalar"), true, &[])
    })?;
    step("build ours natively", || {
        run(cargo().args(["build", "-p", "softplay-bench", "--bin", "native", "--profile", PROFILE]))
    })?;
    step("write the ONNX models", || {
        ensure_onnx()?;
        run(Command::new("python3").arg("tools/make_attention_onnx.py").arg(site.join("models")).args(SIZES))
    })?;
    step("assemble the site", || assemble(&site))?;

    let native_json = out.join("native.json");
    step("time ours natively", || run_native("native", &[], &SIZES, &native_json))?;

    step("time ours, tfjs-wasm and onnxruntime-web in headless Chromium", || {
        let server = serve::Server::start(&site, 0, "/")?;
        let url = format!("http://127.0.0.1:{}/", server.port);
        println!("    serving {} at {url}", site.display());
        run(Command::new("node")
            .arg("bench/run.mjs")
            .env("BENCH_URL", &url)
            .env("BENCH_OUT", &out)
            .env("NATIVE_JSON", &native_json)
            .env("CHROMIUM", tools::CHROMIUM)
            .env("BENCH_COMMAND", "cargo xtask bench attention"))
    })?;

    step("update docs/BENCHMARKS.md", || update_docs(&out.join("attention.md"), START, END))?;
    println!(
        "\nBenchmark done in {:.0} s; figures in {}.",
        start.elapsed().as_secs_f64(),
        out.join("attention.json").display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_replaces_between_the_markers_or_appends_them() {
        let doc = format!("# B\n\n{START}\nold\n{END}\n\nafter\n");
        assert_eq!(splice_between(&doc, "new\n", START, END), format!("# B\n\n{START}\nnew\n{END}\n\nafter\n"));
        assert_eq!(splice_between("# B\n", "new\n", START, END), format!("# B\n\n{START}\nnew\n{END}\n"));
    }
}
