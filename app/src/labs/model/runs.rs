//! The lab's runs: starting, training slice by slice in the worker, pause, resume, stop,
//! reset and delete; the live curves and the runs table.
//!
//! One run trains at a time; runs started meanwhile wait their turn. A run's curve does not
//! depend on how its training was sliced (the worker's trainer carries on where it stopped).

use leptos::prelude::*;
use softplay_worker::model::{Backend, LengthScore, ModelRequest, ModelResponse, Point};

use super::{client::Trainer, content::presets::COMPARE, now_ms, spec_of, Lab};
use crate::{
    components::chart::{Axis, LineChart, Series},
    content,
    labs::{attention::settings::AttentionVariant, model::settings::ModelConfig},
    state::{codec::Choice, lab::encode_lab},
};

/// Milliseconds of training per slice: long enough to amortise a message, short enough that
/// Pause answers at once and the curves move smoothly.
const SLICE_MS: f64 = 80.0;
/// Points per series drawn (every point is in the CSV).
const DRAWN_POINTS: usize = 600;

#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    Waiting,
    Starting,
    Training,
    Paused,
    /// Stopped by the person before its last step.
    Stopped,
    Done,
    /// A NaN or an infinity: the message names the step and the layer.
    Diverged(String),
    Failed(String),
}

impl Status {
    pub fn describe(&self) -> String {
        match self {
            Status::Waiting => "waiting".into(),
            Status::Starting => "starting".into(),
            Status::Training => "training".into(),
            Status::Paused => "paused".into(),
            Status::Stopped => "stopped".into(),
            Status::Done => "done".into(),
            Status::Diverged(m) => format!("diverged: {m}"),
            Status::Failed(m) => format!("failed: {m}"),
        }
    }

    fn is_live(&self) -> bool {
        matches!(self, Status::Waiting | Status::Starting | Status::Training | Status::Paused)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    pub id: u32,
    pub config: ModelConfig,
    pub name: String,
    pub colour: usize,
    pub status: Status,
    pub points: Vec<Point>,
    pub step: u32,
    pub total: u32,
    pub params: u32,
    pub tokens_per_step: u32,
    /// Milliseconds the worker computed, and wall time while training.
    pub compute_ms: f64,
    pub wall_ms: f64,
    /// Where it trains (known once started), and the worker's word on why.
    pub backend: Option<Backend>,
    pub backend_note: Option<String>,
    /// When the current stretch of training began (wall clock), if training.
    pub since: Option<f64>,
    pub sweep: Option<Vec<LengthScore>>,
    pub sweep_note: Option<String>,
    /// A checkpoint's parameters to start from (taken when the run starts), and its origin.
    pub params_in: Option<Vec<f32>>,
    pub loaded_from: Option<String>,
}

impl Run {
    pub fn last_val(&self) -> Option<(f32, f32)> {
        self.points.iter().rev().find_map(|p| Some((p.val_loss?, p.val_accuracy?)))
    }

    pub fn tokens_per_s(&self) -> f64 {
        let trained = self.points.iter().filter(|p| p.step > 0).count() as f64;
        trained * self.tokens_per_step as f64 / (self.compute_ms / 1000.0).max(1e-9)
    }

    /// The link of the run's settings.
    pub fn query(&self) -> String {
        encode_lab("model", &self.config)
    }
}

/// A short name for a run: what sets it apart.
pub fn run_name(c: &ModelConfig) -> String {
    let attn = match c.attention {
        AttentionVariant::Lssar => format!("LSSAR p={}", c.lssar_p),
        a => a.label().split(',').next().unwrap_or("").to_string(),
    };
    format!("{attn} · {} · {}", c.unit.label(), c.positions.name())
}

fn send(lab: Lab, request: ModelRequest) {
    if let Err(e) = Trainer::get().send(&request) {
        lab.error.set(Some(e));
    }
}

/// Starts the first waiting run if none is starting, training or paused.
pub(super) fn next(lab: Lab) {
    let busy = lab
        .runs
        .with_untracked(|r| r.iter().any(|r| matches!(r.status, Status::Starting | Status::Training | Status::Paused)));
    if busy {
        return;
    }
    let Some((id, config, params)) = lab
        .runs
        .try_update(|runs| {
            let r = runs.iter_mut().find(|r| r.status == Status::Waiting)?;
            r.status = Status::Starting;
            Some((r.id, r.config.clone(), r.params_in.take()))
        })
        .flatten()
    else {
        return;
    };
    match spec_of(&config) {
        Ok(spec) => send(
            lab,
            ModelRequest::Start { run: id, spec: Box::new(spec), params: params.map(softplay_worker::protocol::F32s) },
        ),
        Err(e) => set_status(lab, id, Status::Failed(e)),
    }
}

fn set_status(lab: Lab, id: u32, status: Status) {
    lab.runs.update(|runs| {
        if let Some(r) = runs.iter_mut().find(|r| r.id == id) {
            if let Some(since) = r.since.take() {
                r.wall_ms += now_ms() - since;
            }
            if status == Status::Training {
                r.since = Some(now_ms());
            }
            r.status = status;
        }
    });
}

fn train_more(lab: Lab, id: u32) {
    let until = lab.runs.with_untracked(|r| r.iter().find(|r| r.id == id).map(|r| r.total));
    if let Some(until) = until {
        send(lab, ModelRequest::Train { run: id, until, budget_ms: SLICE_MS });
    }
}

fn finish(lab: Lab, id: u32, status: Status) {
    set_status(lab, id, status);
    send(lab, ModelRequest::Sweep { run: id });
    next(lab);
}

/// Routes the worker's answers to the runs.
pub fn listen(lab: Lab) {
    Trainer::get().listen(move |response| match response {
        ModelResponse::Started { run, params, tokens_per_step, backend, note } => {
            let loaded = lab.runs.try_update(|runs| {
                let r = runs.iter_mut().find(|r| r.id == run)?;
                r.params = params;
                r.tokens_per_step = tokens_per_step;
                r.backend = Some(backend);
                r.backend_note = note;
                Some(r.loaded_from.is_some())
            });
            match loaded.flatten() {
                // A checkpoint is shown as it was saved: swept, ready to inspect.
                Some(true) => finish(lab, run, Status::Done),
                Some(false) => {
                    set_status(lab, run, Status::Training);
                    train_more(lab, run);
                }
                None => send(lab, ModelRequest::Drop { run }),
            }
        }
        ModelResponse::Trained { run, points, step, ms, stopped, backend, note } => {
            let state = lab.runs.try_update(|runs| {
                let r = runs.iter_mut().find(|r| r.id == run)?;
                r.points.extend(points);
                r.backend = Some(backend);
                if note.is_some() {
                    r.backend_note = note;
                }
                r.step = step;
                r.compute_ms += ms;
                Some((r.status.clone(), r.total))
            });
            match (state.flatten(), stopped) {
                (Some(_), Some(why)) => finish(lab, run, Status::Diverged(why)),
                (Some((_, total)), None) if step >= total => finish(lab, run, Status::Done),
                (Some((Status::Training, _)), None) => train_more(lab, run),
                (Some((Status::Stopped, _)), None) => {
                    send(lab, ModelRequest::Sweep { run });
                    next(lab);
                }
                _ => {}
            }
        }
        ModelResponse::Swept { run, scores, note } => lab.runs.update(|runs| {
            if let Some(r) = runs.iter_mut().find(|r| r.id == run) {
                r.sweep = Some(scores);
                r.sweep_note = note;
            }
        }),
        ModelResponse::Failed { run: Some(run), message } => {
            let was_live = lab.runs.with_untracked(|r| r.iter().any(|r| r.id == run && r.status.is_live()));
            if was_live {
                set_status(lab, run, Status::Failed(message));
                next(lab);
            } else {
                lab.error.set(Some(message));
            }
        }
        ModelResponse::Failed { run: None, message } => {
            // The worker itself failed (it stopped and came back, or could not read a request):
            // the runs it was training end at the step they reached; their curves stay.
            lab.error.set(Some(message));
            lab.runs.update(|runs| {
                for r in runs.iter_mut().filter(|r| r.status.is_live()) {
                    r.status = Status::Failed(format!("stopped at step {} with the training worker", r.step));
                }
            });
            next(lab);
        }
        ModelResponse::Inspected { run, inspection } => {
            lab.inspection.set(Some((run, std::sync::Arc::new(*inspection))));
        }
        ModelResponse::Exported { run, params, step } => super::store::exported(lab, run, params.0, step),
        ModelResponse::Moved { run, backend, note } => lab.runs.update(|runs| {
            if let Some(r) = runs.iter_mut().find(|r| r.id == run) {
                r.backend = Some(backend);
                r.backend_note = Some(note);
            }
        }),
        ModelResponse::Listening | ModelResponse::Stopped { .. } | ModelResponse::Dropped { .. } => {}
    });
}

/// What the buttons and the progress line need of the active run (no copy of its curve).
#[derive(Clone, Debug, PartialEq)]
struct Live {
    id: u32,
    name: String,
    status: Status,
    step: u32,
    total: u32,
    tokens_per_s: f64,
    wall_ms: f64,
    since: Option<f64>,
    backend: Option<Backend>,
}

/// The run the buttons act on: the one starting, training or paused.
fn active(lab: Lab) -> Option<Live> {
    lab.runs.with(|r| {
        r.iter().find(|r| matches!(r.status, Status::Starting | Status::Training | Status::Paused)).map(|r| Live {
            id: r.id,
            name: r.name.clone(),
            status: r.status.clone(),
            step: r.step,
            total: r.total,
            tokens_per_s: r.tokens_per_s(),
            wall_ms: r.wall_ms,
            since: r.since,
            backend: r.backend,
        })
    })
}

pub fn delete(lab: Lab, id: u32) {
    let was_active = lab.runs.with_untracked(|r| {
        r.iter().any(|r| r.id == id && matches!(r.status, Status::Starting | Status::Training | Status::Paused))
    });
    lab.runs.update(|r| r.retain(|r| r.id != id));
    send(lab, ModelRequest::Drop { run: id });
    if was_active {
        next(lab);
    }
}

/// Loss and accuracy series of the runs, thinned to at most [`DRAWN_POINTS`] per series.
fn series(runs: &[Run], pick: fn(&Point) -> Option<f64>, train: Option<fn(&Point) -> Option<f64>>) -> Vec<Series> {
    let thin = |pts: Vec<(f64, f64)>| -> Vec<(f64, f64)> {
        if pts.len() <= DRAWN_POINTS {
            return pts;
        }
        let every = pts.len().div_ceil(DRAWN_POINTS);
        let last = *pts.last().expect("not empty");
        let mut out: Vec<(f64, f64)> = pts.into_iter().step_by(every).collect();
        if out.last() != Some(&last) {
            out.push(last);
        }
        out
    };
    let mut out = Vec::new();
    for r in runs {
        if let Some(train) = train {
            let pts: Vec<(f64, f64)> =
                r.points.iter().filter(|p| p.step > 0).filter_map(|p| Some((p.step as f64, train(p)?))).collect();
            out.push(Series {
                name: format!("{} #{} train", r.name, r.id),
                colour: r.colour,
                points: thin(pts),
                dashed: false,
            });
        }
        let pts: Vec<(f64, f64)> = r.points.iter().filter_map(|p| Some((p.step as f64, pick(p)?))).collect();
        let label = if train.is_some() { " validation" } else { "" };
        out.push(Series {
            name: format!("{} #{}{label}", r.name, r.id),
            colour: r.colour,
            points: thin(pts),
            dashed: train.is_some(),
        });
    }
    out.retain(|s| !s.points.is_empty());
    out
}

fn seconds(ms: f64) -> String {
    if ms < 60_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        format!("{}:{:02} min", (ms / 60_000.0) as u32, ((ms / 1000.0) as u32) % 60)
    }
}

#[component]
pub fn Training() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let config = lab.config;
    let tick = RwSignal::new(0u32);
    // The elapsed time moves while training, between the worker's answers too.
    let interval = leptos::prelude::set_interval_with_handle(
        move || tick.update(|t| *t += 1),
        std::time::Duration::from_millis(500),
    )
    .ok();
    on_cleanup(move || {
        if let Some(h) = interval {
            h.clear();
        }
    });
    let cannot = Memo::new(move |_| config.with(|c| spec_of(c).err()));
    let train = move |_| {
        lab.error.set(None);
        if let Err(e) = lab.add_run(config.get_untracked(), None, None) {
            lab.error.set(Some(e));
        }
    };
    let compare = move |_| {
        lab.error.set(None);
        let current = config.get_untracked();
        for link in COMPARE.links {
            if let Err(e) = lab.add_run(content::apply(&current, link), None, None) {
                lab.error.set(Some(e));
                return;
            }
        }
    };
    let act = move |what: &'static str| {
        let Some(run) = active(lab) else { return };
        match what {
            "pause" => set_status(lab, run.id, Status::Paused),
            "resume" => {
                set_status(lab, run.id, Status::Training);
                train_more(lab, run.id);
            }
            "stop" => {
                let paused = run.status == Status::Paused;
                set_status(lab, run.id, Status::Stopped);
                // A paused run has no slice in flight to answer: sweep it now.
                if paused {
                    send(lab, ModelRequest::Sweep { run: run.id });
                    next(lab);
                }
            }
            _ => delete(lab, run.id),
        }
    };
    let live = Memo::new(move |_| active(lab));
    // The other backend of the active run, once it is known (the run has started).
    let other = move || {
        live.with(|r| {
            r.as_ref().filter(|r| matches!(r.status, Status::Training | Status::Paused)).and_then(|r| match r.backend {
                Some(Backend::Gpu) => Some((r.id, Backend::Cpu)),
                Some(_) => Some((r.id, Backend::Gpu)),
                None => None,
            })
        })
    };
    let move_run = move |_| {
        if let Some((run, to)) = other() {
            send(lab, ModelRequest::Move { run, to });
        }
    };
    let progress = move || {
        tick.track();
        live.get().map(|r| {
            let wall = r.wall_ms + r.since.map_or(0.0, |s| now_ms() - s);
            let done = r.step as f64 / r.total.max(1) as f64;
            let eta = if r.step > 0 { wall / r.step as f64 * (r.total - r.step) as f64 } else { f64::NAN };
            (r.clone(), done, wall, eta)
        })
    };
    let loss_series =
        Memo::new(move |_| lab.runs.with(|r| series(r, |p| p.val_loss.map(f64::from), Some(|p| Some(p.loss as f64)))));
    let acc_series =
        Memo::new(move |_| lab.runs.with(|r| series(r, |p| p.val_accuracy.map(|a| 100.0 * a as f64), None)));
    let tag = Signal::derive(move || config.with(|c| format!("{}-seed{}", c.task.name(), c.seed)));
    view! {
        <section class="panel" aria-labelledby="train-title">
            <h2 id="train-title">"Training"</h2>
            <div class="button-row">
                <button type="button" data-testid="train" on:click=train disabled=move || cannot.get().is_some()>
                    "Train"
                </button>
                <button type="button" data-testid="compare" on:click=compare disabled=move || cannot.get().is_some()
                    title=COMPARE.about>
                    {COMPARE.label}
                </button>
                <button type="button" data-testid="pause"
                    disabled=move || !live.with(|r| r.as_ref().is_some_and(|r| r.status == Status::Training))
                    on:click=move |_| act("pause")>"Pause"</button>
                <button type="button" data-testid="resume"
                    disabled=move || !live.with(|r| r.as_ref().is_some_and(|r| r.status == Status::Paused))
                    on:click=move |_| act("resume")>"Resume"</button>
                <button type="button" data-testid="stop" disabled=move || live.with(Option::is_none)
                    title="End this run where it is; it stays in the table"
                    on:click=move |_| act("stop")>"Stop"</button>
                <button type="button" data-testid="move-backend" disabled=move || other().is_none()
                    title="Go on training this run on the other backend from the step it has reached: its weights, \
                           Adam moments and batch stream are copied"
                    on:click=move_run>
                    {move || match other() {
                        Some((_, Backend::Cpu)) => "Continue on the CPU",
                        _ => "Continue on WebGPU",
                    }}
                </button>
                <button type="button" data-testid="reset" disabled=move || live.with(Option::is_none)
                    title="Discard this run"
                    on:click=move |_| act("reset")>"Reset"</button>
            </div>
            {move || cannot.get().map(|e| view! { <p class="notice notice-error" role="alert">{format!("Cannot train: {e}.")}</p> })}
            {move || lab.error.get().map(|e| view! { <p class="notice notice-error" role="alert" data-testid="lab-error">{e}</p> })}
            {move || lab.info.get().map(|e| view! { <p class="notice" role="status" data-testid="lab-info">{e}</p> })}
            <div class="train-status" role="status" data-testid="train-status">
                {move || match progress() {
                    None => view! { <p class="hint">"Press Train: curves appear as the model learns."</p> }.into_any(),
                    Some((r, done, wall, eta)) => view! {
                        <progress max="1" value=done></progress>
                        <p>
                            {format!("{} #{} — {}: step {} of {}", r.name, r.id, r.status.describe(), r.step, r.total)}
                            " · " {format!("{} tokens/s", super::group(r.tokens_per_s))}
                            " · " {format!("elapsed {}", seconds(wall))}
                            " · " {if eta.is_finite() { format!("about {} left", seconds(eta)) } else { "estimating…".into() }}
                        </p>
                    }.into_any(),
                }}
            </div>
            <div class="chart-pair">
                <LineChart
                    title="Loss"
                    x=Axis { label: "step", log: false }
                    y=Axis { label: "cross-entropy (nats)", log: true }
                    series=loss_series
                    file_tag=tag
                    test_id="loss-chart"
                    dense=true
                />
                <LineChart
                    title="Validation accuracy"
                    x=Axis { label: "step", log: false }
                    y=Axis { label: "accuracy (%)", log: false }
                    series=acc_series
                    file_tag=tag
                    test_id="accuracy-chart"
                    dense=true
                />
            </div>
            <p class="hint">
                "Solid: the training batch's loss at each step. Dashed: validation on held-out examples, every few \
                 steps. Accuracy counts the answer's tokens (every character for the text task)."
            </p>
        </section>
    }
}
