//! The Model lab: a small decoder-only transformer trained in the page, with any attention
//! normaliser and feed-forward unit, on synthetic tasks or a character-level text; runs side
//! by side, a length-extrapolation sweep, inspection, and checkpoints.
//!
//! Loaded on demand (`src/bin/lab_model.rs`). Training runs in the lab's own worker
//! (`softplay-model-worker`, `client.rs`), in slices of about 80 ms, so the page stays free.

mod client;
pub mod content;
mod inspect;
mod runs;
pub mod settings;
mod store;
mod sweep;
mod table;

use leptos::prelude::*;
use softplay_kernels::{
    activation::{Activation, Gate},
    attention::{Lssa, SoftmaxAlgorithm, Variant},
    mlp::Hidden,
    model::{
        tasks::{self, Part, Task as KernelTask},
        train::Optimiser,
        transformer::{Norm, Positions},
    },
    Rng,
};
use softplay_worker::model::{Backend, Inspection, RunSpec};

use super::{
    frame::{Group, LabFrame, Tab},
    mounted::{self, Slot},
};
use crate::{
    components::controls::{choice_field, flag_field, float_field, int_field},
    labs::attention::settings::AttentionVariant,
    labs::model::settings::{
        ModelBackend, ModelConfig, ModelNorm, ModelPositions, ModelUnit, Task, MODEL_BATCH, MODEL_BETA1, MODEL_BETA2,
        MODEL_CLIP, MODEL_FFN_RATIO, MODEL_HEADS, MODEL_LAYERS, MODEL_LEN, MODEL_LR, MODEL_LSSAR_P, MODEL_STEPS,
        MODEL_TIED, MODEL_WARMUP, MODEL_WD, MODEL_WIDTH,
    },
    state::lab::SEED,
};

pub use runs::Run;

/// The lab's settings and its runs, shared through context.
#[derive(Clone, Copy)]
pub struct Lab {
    pub config: RwSignal<ModelConfig>,
    pub runs: RwSignal<Vec<Run>>,
    /// A message about the lab as a whole (the worker stopped, an upload failed).
    pub error: RwSignal<Option<String>>,
    pub info: RwSignal<Option<String>>,
    /// The last inspection: the run, the example's length, and what the worker saw.
    pub inspection: RwSignal<Option<(u32, std::sync::Arc<Inspection>)>>,
}

impl Lab {
    /// Adds a run of `config` (from `params` when given: a checkpoint); it trains when its turn
    /// comes. An error says why the settings cannot train.
    pub fn add_run(
        self,
        config: ModelConfig,
        params: Option<Vec<f32>>,
        loaded_from: Option<String>,
    ) -> Result<u32, String> {
        spec_of(&config)?;
        let id = self.runs.with_untracked(|r| r.iter().map(|r| r.id).max().unwrap_or(0)) + 1;
        let colour = self.runs.with_untracked(|r| r.len());
        let run = runs::Run {
            id,
            name: runs::run_name(&config),
            total: config.steps,
            config,
            colour,
            status: runs::Status::Waiting,
            points: Vec::new(),
            step: 0,
            params: 0,
            tokens_per_step: 0,
            compute_ms: 0.0,
            wall_ms: 0.0,
            backend: None,
            backend_note: None,
            since: None,
            sweep: None,
            sweep_note: None,
            params_in: params,
            loaded_from,
        };
        self.runs.update(|r| r.push(run));
        runs::next(self);
        Ok(id)
    }
}

static SLOT: Slot<ModelConfig> = Slot::new("model");

pub use softplay_worker::model::{MAX_PARAMS_CPU, MAX_PARAMS_GPU};

/// Mounts the lab into `host` with the settings of `query`; `on_query` hears the query of
/// every change.
pub fn mount(host: web_sys::HtmlElement, query: String, on_query: js_sys::Function) -> Vec<String> {
    mounted::mount(host, query, on_query, &SLOT, |config| {
        let lab = Lab {
            config,
            runs: RwSignal::new(Vec::new()),
            error: RwSignal::new(None),
            info: RwSignal::new(None),
            inspection: RwSignal::new(None),
        };
        provide_context(lab);
        runs::listen(lab);
        view! { <ModelLab/> }.into_any()
    })
}

/// Milliseconds since the page started.
pub fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}

/// The kernels' task of a setting.
pub fn kernel_task(t: Task) -> KernelTask {
    match t {
        Task::Copy => KernelTask::Copy,
        Task::Reverse => KernelTask::Reverse,
        Task::Sort => KernelTask::Sort,
        Task::Recall => KernelTask::Recall,
        Task::Passkey => KernelTask::Passkey,
        Task::ModAdd => KernelTask::ModAdd,
        Task::Parity => KernelTask::Parity,
        Task::Dyck => KernelTask::Dyck,
        Task::Count => KernelTask::Count,
        Task::Chars => KernelTask::Text,
    }
}

fn hidden(u: ModelUnit) -> Hidden {
    match u {
        ModelUnit::Relu => Hidden::Each(Activation::Relu),
        ModelUnit::Gelu => Hidden::Each(Activation::Gelu),
        ModelUnit::Silu => Hidden::Each(Activation::Silu { beta: 1.0 }),
        ModelUnit::SquaredRelu => Hidden::Each(Activation::SquaredRelu),
        ModelUnit::CrRelu => Hidden::Each(Activation::CrRelu { eps: 0.01 }),
        ModelUnit::Mish => Hidden::Each(Activation::Mish),
        ModelUnit::PolyNorm => Hidden::PolyNorm([0.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0]),
        ModelUnit::SwiGlu => Hidden::Gated(Gate::SwiGlu { beta: 1.0 }),
        ModelUnit::GeGlu => Hidden::Gated(Gate::GeGlu),
    }
}

/// The attention normaliser of a run: each with its paper's defaults; sigmoid with the bias
/// `b = −ln T` of the trained length `T`, fixed, so that a token's weights do not depend on
/// how long the sequence is.
fn variant(c: &ModelConfig, trained_tokens: usize) -> Variant {
    match c.attention {
        AttentionVariant::Softmax => Variant::Softmax(SoftmaxAlgorithm::ThreePass),
        AttentionVariant::Lssa => Variant::Lssa(Lssa::DEFAULT),
        AttentionVariant::Lssar => Variant::Lssar { lssa: Lssa::DEFAULT, p: c.lssar_p as f32 },
        AttentionVariant::Sigmoid => Variant::Sigmoid { bias: Some(-(trained_tokens.max(1) as f32).ln()) },
        AttentionVariant::Relu => Variant::Relu,
        AttentionVariant::Linear => Variant::Linear,
    }
}

/// The worker's description of a run of these settings, or why they do not make a model.
pub fn spec_of(c: &ModelConfig) -> Result<RunSpec, String> {
    let task = kernel_task(c.task);
    if !c.width.is_multiple_of(c.heads) {
        return Err(format!(
            "model width {} does not split into {} heads: choose a width that is a multiple of the heads",
            c.width, c.heads
        ));
    }
    let hd = c.width / c.heads;
    if c.positions == ModelPositions::Rope && hd % 2 == 1 {
        return Err(format!(
            "RoPE turns pairs of a head's values, and width {} over {} heads gives {hd} per head (odd): \
             choose another width or heads, or other positions",
            c.width, c.heads
        ));
    }
    let spec = RunSpec {
        task,
        len: c.len,
        batch: c.batch,
        layers: c.layers,
        width: c.width,
        heads: c.heads,
        ffn: c.ffn_ratio * c.width,
        attention: variant(c, task.seq_len(c.len as usize)),
        hidden: hidden(c.unit),
        norm: match c.norm {
            ModelNorm::Rms => Norm::Rms,
            ModelNorm::Layer => Norm::Layer,
        },
        positions: match c.positions {
            ModelPositions::Rope => Positions::Rope,
            ModelPositions::Learned => Positions::Learned,
            ModelPositions::None => Positions::None,
        },
        tied: c.tied,
        opt: Optimiser {
            lr: c.lr as f32,
            beta1: c.beta1 as f32,
            beta2: c.beta2 as f32,
            eps: 1e-8,
            weight_decay: c.weight_decay as f32,
            warmup: c.warmup.min(c.steps),
            steps: c.steps,
            clip: c.clip as f32,
        },
        seed: c.seed,
        eval_every: (c.steps / 40).max(5),
        eval_batches: 2,
        backend: match c.backend {
            ModelBackend::Auto => Backend::Auto,
            ModelBackend::Cpu => Backend::Cpu,
            ModelBackend::Gpu => Backend::Gpu,
        },
    };
    let params = spec.config().layout().total;
    if params > MAX_PARAMS_GPU {
        return Err(format!(
            "these settings make a model of {} parameters; the lab trains up to {} on WebGPU and {} on the CPU \
             (lower the width, layers or feed-forward width)",
            group(params as f64),
            group(MAX_PARAMS_GPU as f64),
            group(MAX_PARAMS_CPU as f64)
        ));
    }
    if params > MAX_PARAMS_CPU && c.backend == ModelBackend::Cpu {
        return Err(format!(
            "these settings make a model of {} parameters; the CPU trains up to {}: choose the Backend Auto or \
             WebGPU (where this browser has WebGPU) or lower the width, layers or feed-forward width",
            group(params as f64),
            group(MAX_PARAMS_CPU as f64)
        ));
    }
    Ok(spec)
}

/// A whole number with thin spaces between thousands: 1 234 567.
pub fn group(x: f64) -> String {
    let digits = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('\u{202f}');
        }
        out.push(ch);
    }
    if x < 0.0 {
        format!("−{out}")
    } else {
        out
    }
}

/// Where the text task's corpus stands in this page: the training worker has it built in; the
/// page loads `data/shakespeare.txt` the first time the task is chosen, for its sample.
#[derive(Clone, Debug, PartialEq)]
enum TextStatus {
    NotAsked,
    Loading,
    Ready,
    Failed(String),
}

/// Loads the text task's corpus (with this build's id, like every file the page loads) and hands
/// it to the kernels.
fn load_text(status: RwSignal<TextStatus>) {
    status.set(TextStatus::Loading);
    leptos::task::spawn_local(async move {
        let result = async {
            let window = web_sys::window().ok_or("no window")?;
            let id = crate::worker::client::build_id();
            let url =
                if id.is_empty() { "data/shakespeare.txt".to_string() } else { format!("data/shakespeare.txt?v={id}") };
            let response = wasm_bindgen_futures::JsFuture::from(window.fetch_with_str(&url))
                .await
                .map_err(|e| format!("{e:?}"))?;
            let response: web_sys::Response = wasm_bindgen::JsCast::dyn_into(response).map_err(|_| "not a response")?;
            if !response.ok() {
                return Err(format!("HTTP {} for {url}", response.status()));
            }
            let text = wasm_bindgen_futures::JsFuture::from(response.text().map_err(|e| format!("{e:?}"))?)
                .await
                .map_err(|e| format!("{e:?}"))?;
            tasks::provide_text(&text.as_string().unwrap_or_default())
        }
        .await;
        status.set(match result {
            Ok(()) => TextStatus::Ready,
            Err(why) => TextStatus::Failed(why.to_string()),
        });
    });
}

/// A sample of the task at the current settings (from the seed), the answer marked.
fn sample(c: &ModelConfig, text: &TextStatus) -> (String, String) {
    let task = kernel_task(c.task);
    if task == KernelTask::Text && !tasks::text_ready() {
        return match text {
            TextStatus::Failed(why) => (format!("the text could not be loaded ({why})"), "–".into()),
            _ => ("loading the text…".into(), "–".into()),
        };
    }
    let mut rng = Rng::new(c.seed as u64);
    let len = (c.len as usize).min(48);
    let (tokens, targets) = task.batch_from(len, 1, &mut rng, Part::Train);
    let first = targets.iter().position(|&y| y != softplay_kernels::model::transformer::IGNORE).unwrap_or(0);
    let show = |toks: &[u32]| toks.iter().map(|&x| task.token_text(x)).collect::<Vec<_>>().join(" ");
    if task == KernelTask::Text {
        let text: String = tokens.iter().map(|&x| task.token_text(x)).collect();
        return (text, "(every next character)".into());
    }
    let last = *targets.last().unwrap_or(&0);
    let mut answer: Vec<u32> = targets[first..].iter().copied().filter(|&y| y != u32::MAX).collect();
    if answer.is_empty() {
        answer.push(last);
    }
    (show(&tokens[..=first]), show(&answer))
}

#[component]
pub fn ModelLab() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let config = lab.config;
    let task_about = move || config.with(|c| content::task(c.task));
    let text = RwSignal::new(TextStatus::NotAsked);
    Effect::new(move |_| {
        if config.with(|c| c.task == Task::Chars) && text.get_untracked() == TextStatus::NotAsked {
            load_text(text);
        }
    });
    let shown = Memo::new(move |_| text.with(|t| config.with(|c| sample(c, t))));
    let check = Memo::new(move |_| config.with(|c| spec_of(c).map(|s| s.config().layout().total)));
    view! {
        <LabFrame
            title=content::TITLE
            aim=content::INTRO
            main=Box::new(move || view! {
                <runs::Training/>
                <table::RunsTable/>
            }.into_any())
            tabs=vec![
                Tab::new("sweep", "Length extrapolation", view! { <sweep::LengthSweep/> }),
                Tab::new("inspect", "Inspect", view! { <inspect::Inspect/> }),
                Tab::new("checkpoints", "Checkpoints", view! { <store::Checkpoints/> }),
            ]
        >
            <Group title="Presets">
                <div class="button-row">
                    {[content::presets::DEFAULT, content::presets::SHAKESPEARE].map(|p| {
                        let link = p.links[0];
                        view! {
                            <button type="button" class="small" title=p.about data-testid=format!("preset-{}", p.name)
                                on:click=move |_| config.set(crate::content::apply(&config.get_untracked(), link))>
                                {p.label}
                            </button>
                        }
                    })}
                </div>
            </Group>
            <Group title="Task">
                {choice_field(config, |c| c.task, |c, v| c.task = v)}
                {int_field(config, MODEL_LEN, |c| c.len, |c, v| c.len = v)}
                <p class="hint" data-testid="task-about">{move || task_about().asks}</p>
                <p class="hint">{move || task_about().perfect}</p>
                <p class="task-sample" data-testid="task-sample">
                    "Sample: " <code>{move || shown.get().0}</code> " → " <code class="answer">{move || shown.get().1}</code>
                </p>
            </Group>
            <Group title="Model">
                {choice_field(config, |c| c.attention, |c, v| c.attention = v)}
                <Show when=move || config.with(|c| c.attention == AttentionVariant::Lssar)>
                    {float_field(config, MODEL_LSSAR_P, |c| c.lssar_p, |c, v| c.lssar_p = v)}
                </Show>
                {choice_field(config, |c| c.unit, |c, v| c.unit = v)}
                {choice_field(config, |c| c.norm, |c, v| c.norm = v)}
                {choice_field(config, |c| c.positions, |c, v| c.positions = v)}
                {int_field(config, MODEL_LAYERS, |c| c.layers, |c, v| c.layers = v)}
                {int_field(config, MODEL_WIDTH, |c| c.width, |c, v| c.width = v)}
                {int_field(config, MODEL_HEADS, |c| c.heads, |c, v| c.heads = v)}
                {int_field(config, MODEL_FFN_RATIO, |c| c.ffn_ratio, |c, v| c.ffn_ratio = v)}
                {flag_field(config, MODEL_TIED, |c| c.tied, |c, v| c.tied = v)}
                <p class="hint" data-testid="model-size">
                    {move || match check.get() {
                        Ok(n) if n > MAX_PARAMS_CPU => format!(
                            "{} parameters: needs WebGPU (the CPU trains up to {}; with the Backend Auto or WebGPU the \
                             run trains on the GPU, and where this browser has none it does not start).",
                            group(n as f64),
                            group(MAX_PARAMS_CPU as f64)
                        ),
                        Ok(n) => format!("{} parameters.", group(n as f64)),
                        Err(e) => format!("Cannot train: {e}."),
                    }}
                </p>
            </Group>
            <Group title="Training">
                {int_field(config, MODEL_STEPS, |c| c.steps, |c, v| c.steps = v)}
                {int_field(config, MODEL_BATCH, |c| c.batch, |c, v| c.batch = v)}
                {float_field(config, MODEL_LR, |c| c.lr, |c, v| c.lr = v)}
                {int_field(config, MODEL_WARMUP, |c| c.warmup, |c, v| c.warmup = v)}
                {float_field(config, MODEL_WD, |c| c.weight_decay, |c, v| c.weight_decay = v)}
                {float_field(config, MODEL_BETA1, |c| c.beta1, |c, v| c.beta1 = v)}
                {float_field(config, MODEL_BETA2, |c| c.beta2, |c, v| c.beta2 = v)}
                {float_field(config, MODEL_CLIP, |c| c.clip, |c, v| c.clip = v)}
                {int_field(config, SEED, |c| c.seed, |c, v| c.seed = v)}
                <p class="hint">
                    "AdamW with linear warm-up, then cosine decay to a tenth of the rate. The seed draws the \
                     weights and the training batches; validation, the sweep and the inspector use fixed \
                     held-out examples, the same for every run."
                </p>
                {choice_field(config, |c| c.backend, |c, v| c.backend = v)}
                <p class="hint" data-testid="backend-about">
                    "A CPU run replays bit for bit. A WebGPU run trains the same model on the same batches; \
                     its losses and weights agree with the CPU's to 1e-3 (the worker checks its GPU against \
                     the CPU before the first WebGPU run, and the runs table says where each run trained and \
                     why). LSSAR's small runs are chaotic on either backend (one part in a million in the \
                     weights grows to a thousandth of the loss within about 20 steps), so each WebGPU step \
                     agrees with the CPU's but a long LSSAR curve follows its own path. Auto times both on \
                     the run's model and takes the faster. CRReLU, Mish and PolyNorm have no GPU kernels \
                     yet: those runs train on the CPU."
                </p>
            </Group>
        </LabFrame>
    }
}
