use leptos::prelude::*;

use softplay_worker::{
    protocol::Reply,
    shell::{Done, Request, SoftmaxSummary},
};

use super::ShellCompute;

/// Vector lengths the compute check offers.
const CHECK_LENGTHS: [u32; 3] = [1 << 20, 1 << 22, 1 << 24];

/// Runs a softmax over millions of values in the compute worker, with progress: shows that
/// the worker computes, how fast, and that the page stays responsive meanwhile.
#[component]
fn ComputeCheck() -> impl IntoView {
    let compute = expect_context::<ShellCompute>();
    let len = RwSignal::new(1u32 << 24);
    let running = RwSignal::new(false);
    let progress = RwSignal::new((String::new(), 0u32, 1u32));
    let result = RwSignal::new(None::<Result<SoftmaxSummary, String>>);
    let run = move |_| {
        running.set(true);
        result.set(None);
        progress.set(("starting".into(), 0, 1));
        let len = len.get_untracked();
        compute.send(
            move |id| Request::Softmax { id, len, seed: 7, scale: 4.0 },
            move |response| match response {
                Reply::Progress { stage, done, total, .. } => progress.set((stage, done, total)),
                Reply::Done(Done::Softmax(summary)) => {
                    result.set(Some(Ok(summary)));
                    running.set(false);
                }
                Reply::Failed { message, .. } => {
                    result.set(Some(Err(message)));
                    running.set(false);
                }
                _ => {}
            },
        );
    };
    let summary = move || {
        result.get().map(|r| match r {
            Ok(s) => view! {
                <p class="result" data-testid="check-result">
                    {format!(
                        "Softmax of {} values: Σp = {:.6}, largest p = {:.3e}, entropy = {:.4} nats, \
                         in {:.0} ms ({:.1} million values per second, drawing the inputs included).",
                        s.len,
                        s.sum,
                        s.max_prob,
                        s.entropy,
                        s.elapsed_ms,
                        s.len as f64 / s.elapsed_ms / 1000.0
                    )}
                </p>
            }
            .into_any(),
            Err(message) => {
                view! { <p class="result error" role="alert">{format!("The check failed: {message}")}</p> }.into_any()
            }
        })
    };
    view! {
        <section class="panel" aria-labelledby="check-title">
            <h2 id="check-title">"Compute check"</h2>
            <p>
                "Runs a softmax over millions of seeded random values in the compute worker, the way \
                 the labs run long work: off the page's main thread, with progress. The page stays \
                 responsive meanwhile."
            </p>
            <div class="controls">
                <div class="control">
                    <label for="check-len">"Values"</label>
                    <select
                        id="check-len"
                        prop:value=move || len.get().to_string()
                        on:change=move |ev| {
                            if let Ok(v) = event_target_value(&ev).parse::<u32>() {
                                len.set(v);
                            }
                        }
                    >
                        {CHECK_LENGTHS
                            .iter()
                            .map(|&n| view! { <option value=n.to_string() selected=move || len.get() == n>{format!("{} million", n >> 20)}</option> })
                            .collect::<Vec<_>>()}
                    </select>
                </div>
            </div>
            <button type="button" class="primary" on:click=run disabled=move || { running.get() || compute.busy.get() > 0 }>
                "Run the compute check"
            </button>
            <div class="progress" hidden=move || !running.get()>
                <progress
                    aria-label="Compute check progress"
                    max=move || progress.get().2
                    value=move || progress.get().1
                ></progress>
                <span>{move || progress.get().0}</span>
            </div>
            {summary}
        </section>
    }
}

#[component]
pub fn About() -> impl IntoView {
    view! {
        <article class="about">
            <h1>"About Softplay"</h1>
            <p class="lead">
                "Softplay shows how the nonlinearities of a transformer behave — softmax, softplus and \
                 sigmoid attention, activation functions, and preference-alignment losses — by letting \
                 you train and probe small models in the page."
            </p>
            <section class="panel" aria-labelledby="how-title">
                <h2 id="how-title">"How it computes"</h2>
                <p>
                    "The math is Rust compiled to WebAssembly with 128-bit SIMD, running in a Web Worker \
                     so the page never freezes. Where your browser offers WebGPU, the worker also opens \
                     the GPU and checks its attention kernels against the CPU's. The Model lab can train \
                     on the GPU (its Backend setting): its training worker checks the GPU's training \
                     kernels against the CPU's before the first WebGPU run, the runs table says where \
                     each run trained, and a run can go on on the other backend from the step it has \
                     reached. The other labs compute on the CPU. The footer says what this page \
                     has."
                </p>
                <p>
                    "Nothing is sent anywhere: the site is static files, every number is computed on \
                     your machine, and nothing is loaded from another origin."
                </p>
            </section>
            <ComputeCheck/>
            <section class="panel" aria-labelledby="links-title">
                <h2 id="links-title">"Links that replay"</h2>
                <p>
                    "Every setting of a lab is in the page's address, with readable names \
                     (for example "<code>"?page=attention&attn=lssa&n=128&seed=7"</code>"). A link \
                     opens the same experiment with the same seed. A value the page cannot use is \
                     replaced by its default, and a notice says which, why and what was used instead."
                </p>
            </section>
            <section class="panel" aria-labelledby="papers-title">
                <h2 id="papers-title">"Papers behind the labs"</h2>
                <ul>
                    <li>"Gao & Spratling — softplus attention with length scaling and re-weighting (LSSA, LSSAR), arXiv 2501.13428."</li>
                    <li>"Ramapuram et al. — sigmoid attention, ICLR 2025."</li>
                    <li>"Milakov & Gimelshein (2018), online softmax; Dukhan & Ablavatski (2020), the two-pass softmax."</li>
                    <li>"Zhuo et al. — PolyCom activations, ICLR 2025; the EAFO paper — CRReLU, arXiv 2405.12954."</li>
                    <li>"Rafailov et al. — DPO; Yan et al. — the 3D-properties of DPO, ICLR 2025; Munos et al. — Nash learning from human feedback."</li>
                </ul>
            </section>
        </article>
    }
}
