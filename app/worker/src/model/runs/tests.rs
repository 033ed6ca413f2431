//! The run keeper's tests: slicing, sweeps and inspection, and (with the GPU feature, on
//! lavapipe) WebGPU runs against CPU runs, Auto, a lost device, moves and large models.

use softplay_kernels::{
    activation::Activation,
    attention::{SoftmaxAlgorithm, Variant},
    mlp::Hidden,
    model::{
        train::Optimiser,
        transformer::{Norm, Positions},
    },
};

use pollster::block_on;

use super::*;

fn spec() -> RunSpec {
    RunSpec {
        task: Task::Copy,
        len: 3,
        batch: 8,
        layers: 1,
        width: 16,
        heads: 2,
        ffn: 32,
        attention: Variant::Softmax(SoftmaxAlgorithm::ThreePass),
        hidden: Hidden::Each(Activation::Gelu),
        norm: Norm::Rms,
        positions: Positions::Rope,
        tied: true,
        opt: Optimiser { steps: 20, warmup: 2, ..Optimiser::default() },
        seed: 3,
        eval_every: 5,
        eval_batches: 1,
        backend: Backend::Cpu,
    }
}

/// A clock that advances 1 ms per reading.
fn ticking() -> impl Fn() -> f64 {
    let t = std::cell::Cell::new(0.0);
    move || {
        t.set(t.get() + 1.0);
        t.get()
    }
}

fn losses(slices: &[f64]) -> Vec<Point> {
    let mut runs = Runs::default();
    let clock = ticking();
    block_on(runs.handle(ModelRequest::Start { run: 1, spec: Box::new(spec()), params: None }, &clock));
    let mut points = Vec::new();
    for &budget in slices.iter().cycle().take(100) {
        match block_on(runs.handle(ModelRequest::Train { run: 1, until: 20, budget_ms: budget }, &clock)) {
            ModelResponse::Trained { points: p, step, .. } => {
                points.extend(p);
                if step == 20 {
                    break;
                }
            }
            other => panic!("{other:?}"),
        }
    }
    points
}

#[test]
fn slices_of_any_size_give_the_same_curve_bit_for_bit() {
    let whole = losses(&[1e9]);
    let sliced = losses(&[2.0, 5.0, 3.0]);
    assert_eq!(whole.len(), 21, "step 0 and 20 steps");
    assert_eq!(whole.iter().filter(|p| p.val_loss.is_some()).count(), 5, "validation at 0, 5, 10, 15, 20");
    let bits =
        |p: &[Point]| p.iter().map(|x| (x.step, x.loss.to_bits(), x.val_loss.map(f32::to_bits))).collect::<Vec<_>>();
    assert_eq!(bits(&whole), bits(&sliced));
}

#[test]
fn sweep_inspect_export_and_a_missing_run() {
    let mut runs = Runs::default();
    let clock = ticking();
    block_on(runs.handle(ModelRequest::Start { run: 4, spec: Box::new(spec()), params: None }, &clock));
    let ModelResponse::Swept { scores, note, .. } = block_on(runs.handle(ModelRequest::Sweep { run: 4 }, &clock))
    else {
        panic!()
    };
    assert_eq!(scores.iter().map(|s| s.len).collect::<Vec<_>>(), vec![3, 6, 12, 24, 48]);
    assert!(note.is_none());
    let ModelResponse::Inspected { inspection, .. } =
        block_on(runs.handle(ModelRequest::Inspect { run: 4, len: 3, seed: 1 }, &clock))
    else {
        panic!()
    };
    assert_eq!(inspection.tokens.len(), 6);
    assert_eq!(inspection.maps.len(), 1);
    assert_eq!(inspection.maps[0].0.len(), 2 * 6 * 6);
    assert_eq!(inspection.completions.len(), 4);
    assert!(inspection.completions.iter().all(|c| c.expected.chars().count() == 3 && c.got.chars().count() == 3));
    let ModelResponse::Exported { params, step, .. } = block_on(runs.handle(ModelRequest::Export { run: 4 }, &clock))
    else {
        panic!()
    };
    assert_eq!((params.0.len(), step), (spec().config().layout().total, 0));
    let answer = block_on(runs.handle(ModelRequest::Train { run: 9, until: 5, budget_ms: 10.0 }, &clock));
    assert!(matches!(answer, ModelResponse::Failed { run: Some(9), message } if message.contains("not in the worker")));
}

/// A run of `backend`, trained to step 20 in slices: the answers to its start and every
/// point of its curve, its final parameters, and the keeper (whose GPU a test may take away).
#[cfg(feature = "gpu")]
fn gpu_run(backend: Backend, lose_after: Option<usize>) -> (ModelResponse, Vec<Point>, Vec<String>, Vec<f32>) {
    let mut runs = Runs::default();
    let clock = ticking();
    let spec = RunSpec { backend, ..spec() };
    let started = block_on(runs.handle(ModelRequest::Start { run: 1, spec: Box::new(spec), params: None }, &clock));
    let (mut points, mut notes) = (Vec::new(), Vec::new());
    for slice in 0..100 {
        if Some(slice) == lose_after {
            if let Gpu::Ready(ctx) = &runs.gpu {
                ctx.lose();
            }
        }
        match block_on(runs.handle(ModelRequest::Train { run: 1, until: 20, budget_ms: 4.0 }, &clock)) {
            ModelResponse::Trained { points: p, step, stopped, note, .. } => {
                assert_eq!(stopped, None);
                points.extend(p);
                notes.extend(note);
                if step == 20 {
                    break;
                }
            }
            other => panic!("{other:?}"),
        }
    }
    let ModelResponse::Exported { params, .. } = block_on(runs.handle(ModelRequest::Export { run: 1 }, &clock)) else {
        panic!()
    };
    (started, points, notes, params.0)
}

/// Whether this machine has a GPU adapter (lavapipe under `cargo xtask test`, which
/// requires one).
#[cfg(feature = "gpu")]
fn has_gpu() -> bool {
    match block_on(softplay_kernels::gpu::GpuContext::new()) {
        Ok(_) => true,
        Err(e) if std::env::var("SOFTPLAY_REQUIRE_GPU").as_deref() != Ok("1") => {
            eprintln!("skipped: no GPU adapter ({e})");
            false
        }
        Err(e) => panic!("SOFTPLAY_REQUIRE_GPU=1 but {e}"),
    }
}

/// Largest difference of two curves' losses (relative), and whether they validated at
/// the same steps.
#[cfg(feature = "gpu")]
fn compare(a: &[Point], b: &[Point]) -> f32 {
    assert_eq!(
        a.iter().map(|p| (p.step, p.val_loss.is_some())).collect::<Vec<_>>(),
        b.iter().map(|p| (p.step, p.val_loss.is_some())).collect::<Vec<_>>()
    );
    a.iter().zip(b).map(|(x, y)| (x.loss - y.loss).abs() / x.loss.abs().max(1e-6)).fold(0.0, f32::max)
}

#[cfg(feature = "gpu")]
fn largest_gap(a: &[f32], b: &[f32]) -> f32 {
    let top = a.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    a.iter().zip(b).fold(0.0f32, |m, (x, y)| m.max((x - y).abs())) / top
}

#[test]
#[cfg(feature = "gpu")]
fn a_webgpu_run_trains_the_curve_of_the_cpu_run() {
    if !has_gpu() {
        return;
    }
    let (_, cpu, _, cpu_params) = gpu_run(Backend::Cpu, None);
    let (started, gpu, notes, gpu_params) = gpu_run(Backend::Gpu, None);
    let ModelResponse::Started { backend, note, .. } = started else { panic!("{started:?}") };
    assert_eq!(backend, Backend::Gpu, "{note:?}");
    assert!(note.is_some_and(|n| n.starts_with("on ")));
    assert!(notes.is_empty(), "{notes:?}");
    let loss = compare(&cpu, &gpu);
    let params = largest_gap(&cpu_params, &gpu_params);
    eprintln!("a WebGPU run against the CPU run over 20 steps: losses {loss:.1e}, parameters {params:.1e}");
    assert!(loss <= 1e-3 && params <= 1e-3, "losses {loss:e}, parameters {params:e}");
}

#[test]
#[cfg(feature = "gpu")]
fn auto_says_what_it_measured_and_chose() {
    if !has_gpu() {
        return;
    }
    let (started, points, _, _) = gpu_run(Backend::Auto, None);
    let ModelResponse::Started { backend, note: Some(note), .. } = started else { panic!("{started:?}") };
    eprintln!("Auto on this machine: {note}");
    let chose = if backend == Backend::Gpu { "Auto chose WebGPU" } else { "Auto chose the CPU" };
    assert!(note.starts_with(chose) && note.contains("ms a step"), "{backend:?}: {note}");
    assert_eq!(points.last().map(|p| p.step), Some(20));
}

#[test]
#[cfg(feature = "gpu")]
fn a_lost_gpu_moves_the_run_to_the_cpu_and_its_curve_goes_on() {
    if !has_gpu() {
        return;
    }
    let (_, cpu, _, cpu_params) = gpu_run(Backend::Cpu, None);
    let (_, moved, notes, params) = gpu_run(Backend::Gpu, Some(2));
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("the GPU stopped at step") && notes[0].contains("goes on on the CPU"), "{}", notes[0]);
    let loss = compare(&cpu, &moved);
    let gap = largest_gap(&cpu_params, &params);
    eprintln!("{}; against the CPU run: losses {loss:.1e}, parameters {gap:.1e}", notes[0]);
    assert!(loss <= 1e-3 && gap <= 1e-3, "losses {loss:e}, parameters {gap:e}");
}

#[test]
#[cfg(feature = "gpu")]
fn a_run_moved_to_webgpu_and_back_keeps_the_cpu_curve() {
    if !has_gpu() {
        return;
    }
    let (_, cpu, _, cpu_params) = gpu_run(Backend::Cpu, None);
    let mut runs = Runs::default();
    let clock = ticking();
    block_on(runs.handle(ModelRequest::Start { run: 1, spec: Box::new(spec()), params: None }, &clock));
    let (mut points, mut notes) = (Vec::new(), Vec::new());
    // On the CPU to step 7 or a little past, on WebGPU to step 14 or so, then on the CPU.
    let mut on = Backend::Cpu;
    let move_to = |runs: &mut Runs, to: Backend, notes: &mut Vec<String>| match block_on(
        runs.handle(ModelRequest::Move { run: 1, to }, &clock),
    ) {
        ModelResponse::Moved { backend, note, .. } => {
            notes.push(note);
            backend
        }
        other => panic!("{other:?}"),
    };
    let mut step = 0;
    while step < 20 {
        match block_on(runs.handle(ModelRequest::Train { run: 1, until: 20, budget_ms: 4.0 }, &clock)) {
            ModelResponse::Trained { points: p, backend, note: None, step: s, .. } => {
                assert_eq!(backend, on);
                points.extend(p);
                step = s;
            }
            other => panic!("{other:?}"),
        }
        if (7..14).contains(&step) && on == Backend::Cpu && notes.is_empty() {
            on = move_to(&mut runs, Backend::Gpu, &mut notes);
            assert_eq!(on, Backend::Gpu, "{notes:?}");
        } else if (14..20).contains(&step) && on == Backend::Gpu {
            on = move_to(&mut runs, Backend::Cpu, &mut notes);
            assert_eq!(on, Backend::Cpu, "{notes:?}");
        }
    }
    assert_eq!(move_to(&mut runs, Backend::Gpu, &mut notes), Backend::Cpu, "a finished run stays");
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert!(notes[0].starts_with("moved to WebGPU at step ") && notes[0].contains("Adam moments"), "{}", notes[0]);
    assert!(notes[1].starts_with("moved to the CPU at step "), "{}", notes[1]);
    assert!(notes[2].starts_with("the run is done (step 20)"), "{}", notes[2]);
    let gpu_steps = |n: &str| n.split("step ").nth(1).and_then(|t| t.split(':').next()?.parse::<usize>().ok());
    let (from, to) = (gpu_steps(&notes[0]).unwrap(), gpu_steps(&notes[1]).unwrap());
    let ModelResponse::Exported { params, .. } = block_on(runs.handle(ModelRequest::Export { run: 1 }, &clock)) else {
        panic!()
    };
    let (loss, gap) = (compare(&cpu, &points), largest_gap(&cpu_params, &params.0));
    eprintln!(
        "CPU to step {from}, WebGPU to {to}, CPU to 20, against the CPU run: losses {loss:.1e}, parameters {gap:.1e}"
    );
    assert!(loss <= 1e-3 && gap <= 1e-3, "losses {loss:e}, parameters {gap:e}");
    assert!(points[from + 1..=to].iter().any(|p| p.loss != cpu[p.step as usize].loss), "the GPU's steps are its own");
}

#[test]
#[cfg(feature = "gpu")]
fn a_model_above_the_cpus_cap_trains_on_webgpu_only() {
    if !has_gpu() {
        return;
    }
    // 6.3 M parameters: width 512, feed-forward 2,048, two layers.
    let big = RunSpec {
        width: 512,
        heads: 4,
        ffn: 2048,
        layers: 2,
        batch: 2,
        opt: Optimiser { steps: 3, warmup: 1, ..Optimiser::default() },
        ..spec()
    };
    assert!(big.config().layout().total > MAX_PARAMS_CPU);
    let mut runs = Runs::default();
    let clock = ticking();
    let cpu = RunSpec { backend: Backend::Cpu, ..big.clone() };
    let refused = block_on(runs.handle(ModelRequest::Start { run: 1, spec: Box::new(cpu), params: None }, &clock));
    assert!(
        matches!(&refused, ModelResponse::Failed { message, .. } if message.contains("trains only on WebGPU (the CPU trains up to 4000000)")),
        "{refused:?}"
    );
    let auto = RunSpec { backend: Backend::Auto, ..big.clone() };
    let started = block_on(runs.handle(ModelRequest::Start { run: 2, spec: Box::new(auto), params: None }, &clock));
    let ModelResponse::Started { backend: Backend::Gpu, .. } = started else { panic!("{started:?}") };
    let ModelResponse::Trained { points, step: 2, .. } =
        block_on(runs.handle(ModelRequest::Train { run: 2, until: 2, budget_ms: 1e9 }, &clock))
    else {
        panic!()
    };
    // Still live (step 2 of 3): it cannot move to the CPU.
    let moved = block_on(runs.handle(ModelRequest::Move { run: 2, to: Backend::Cpu }, &clock));
    assert!(
        matches!(&moved, ModelResponse::Moved { backend: Backend::Gpu, note, .. } if note.ends_with("it stays")),
        "{moved:?}"
    );
    let mut reference =
        Trainer::new(big.config(), big.opt, big.task, big.len as usize, big.batch as usize, big.seed).unwrap();
    for p in &points[1..] {
        let want = reference.train_step().unwrap();
        assert!((p.loss - want).abs() <= 1e-3 * want.abs(), "step {}: {} on WebGPU, {want} on the CPU", p.step, p.loss);
    }
}
