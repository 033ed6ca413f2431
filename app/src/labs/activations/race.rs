//! The fitting race (one small MLP per entrant, the same seed, data and optimiser, trained in
//! the worker) and the sparsity of the trained networks' hidden layers.

use leptos::prelude::*;
use softplay_kernels::fit::{plot_x, FitSpec, Snapshot, ACTIVE_ABOVE, DIVERGED_GROWTH};

use super::{plots::styled, spec, Lab};
use softplay_worker::{
    activations::{Done, FitReport, Request},
    protocol::Reply,
};

use crate::{
    components::{
        chart::{readout_number, Axis, LineChart, Series, INK},
        controls::{choice_field, float_field, int_field, ListPicker},
        export::{csv_field, csv_number, download_text},
    },
    labs::activations::settings::{RaceUnit, ACT_LAYERS, ACT_LR, ACT_RACE_MAX, ACT_STEPS, ACT_WIDTH},
    state::codec::{format_float, Choice},
};

/// How long the race's settings must rest before a new race starts.
const RESTART_MS: f64 = 250.0;

/// Worker time per request: the page hears from the race about 12 times a second.
const BUDGET_MS: f64 = 80.0;
/// The fitted-curves chart leaves out predictions beyond this magnitude.
const FIT_CLIP: f64 = 5.0;
/// Most points a loss curve draws (the CSV has every step).
const CURVE_POINTS: usize = 600;

/// Everything the race has produced so far.
#[derive(Clone, Debug, Default, PartialEq)]
struct RaceData {
    /// The page's number for this race: reports of an older race are dropped.
    race: u32,
    units: Vec<RaceUnit>,
    /// Per entrant, the loss before each step.
    losses: Vec<Vec<f32>>,
    current: Vec<f32>,
    diverged: Vec<Option<u32>>,
    snapshots: Vec<Snapshot>,
    /// `(step, per entrant: share of first-layer outputs not 0, share above ACTIVE_ABOVE)`.
    ratios: Vec<(u32, Vec<(f32, f32)>)>,
    step: u32,
    /// Worker time of all steps so far.
    ms: f64,
    error: Option<String>,
}

impl RaceData {
    fn add(&mut self, r: FitReport) {
        if self.losses.len() != r.losses.len() {
            self.losses = vec![Vec::new(); r.losses.len()];
        }
        for (all, part) in self.losses.iter_mut().zip(r.losses) {
            all.extend(part.0);
        }
        self.ratios.push((r.step, r.snapshots.iter().map(|s| (s.ratio[0], s.active[0])).collect()));
        self.current = r.current;
        self.diverged = r.diverged;
        self.snapshots = r.snapshots;
        self.step = r.step;
        self.ms += r.ms;
    }
}

fn thin(points: impl ExactSizeIterator<Item = (f64, f64)>) -> Vec<(f64, f64)> {
    let every = points.len().div_ceil(CURVE_POINTS).max(1);
    points.enumerate().filter(|(i, _)| i % every == 0).map(|(_, p)| p).collect()
}

fn losses_csv(d: &RaceData) -> String {
    let mut out = String::from("step");
    for u in &d.units {
        out.push(',');
        out.push_str(&csv_field(u.label()));
    }
    out.push('\n');
    let steps = d.losses.first().map_or(0, Vec::len);
    for s in 0..steps {
        out.push_str(&s.to_string());
        for l in &d.losses {
            out.push(',');
            out.push_str(&csv_number(l[s] as f64));
        }
        out.push('\n');
    }
    out.push_str(&format!("{} (now)", d.step));
    for l in &d.current {
        out.push(',');
        out.push_str(&csv_number(*l as f64));
    }
    out.push('\n');
    out
}

#[component]
pub fn Race() -> impl IntoView {
    let Lab { config, compute } = expect_context::<Lab>();
    let data = RwSignal::new(RaceData::default());
    let running = RwSignal::new(false);
    let in_flight = RwSignal::new(false);
    let next_race = StoredValue::new(1u32);
    let spec = Memo::new(move |_| config.with(spec::fit));
    let target_steps = Memo::new(move |_| config.with(|c| c.steps));
    let message = RwSignal::new(None::<String>);

    let start_over = move || {
        let race = next_race.get_value();
        next_race.set_value(race + 1);
        data.set(RaceData { race, units: config.with_untracked(|c| c.race.clone()), ..RaceData::default() });
        running.set(true);
    };
    // A new race whenever its settings change (and on opening the lab). While a slider moves
    // one of them (SwiGLU's β, a PolyReLU coefficient) the race stands reset and asks the worker
    // for nothing until the settings have rested for RESTART_MS: a race per step of the slider
    // would only compete with the slider's redraws.
    let settling = RwSignal::new(false);
    let rest_until = StoredValue::new(None::<f64>);
    let first = StoredValue::new(true);
    fn when_rested(rest_until: StoredValue<Option<f64>>, settling: RwSignal<bool>, ms: f64) {
        set_timeout(
            move || match rest_until.try_get_value().flatten() {
                Some(at) if at > js_sys::Date::now() => when_rested(rest_until, settling, at - js_sys::Date::now()),
                Some(_) => {
                    rest_until.set_value(None);
                    settling.set(false);
                }
                None => {}
            },
            std::time::Duration::from_millis(ms.ceil() as u64),
        );
    }
    Effect::new(move |_| {
        spec.track();
        start_over();
        if first.get_value() {
            first.set_value(false);
            return;
        }
        let waiting = rest_until.get_value().is_some();
        rest_until.set_value(Some(js_sys::Date::now() + RESTART_MS));
        settling.set(true);
        if !waiting {
            when_rested(rest_until, settling, RESTART_MS);
        }
    });
    // One request at a time: first the networks as initialised (no step: the activation ratios
    // at step 0, shown even when paused), then, while running, the steps that are left.
    Effect::new(move |_| {
        if in_flight.get() || settling.get() {
            return;
        }
        let (race, step, first, failed) = data.with(|d| (d.race, d.step, d.ratios.is_empty(), d.error.is_some()));
        let target = target_steps.get();
        if failed || (!first && !running.get()) {
            return;
        }
        if !first && step >= target {
            running.set(false);
            return;
        }
        let spec: FitSpec = spec.get_untracked();
        let steps = if first { 0 } else { target - step };
        in_flight.set(true);
        compute.send(
            move |id| Request::Fit { id, race, spec, steps, budget_ms: BUDGET_MS },
            move |response| match response {
                Reply::Done(Done::Fit(report)) => {
                    if data.with_untracked(|d| d.race == report.race) {
                        data.update(|d| d.add(report));
                    }
                    in_flight.set(false);
                }
                Reply::Failed { message, .. } => {
                    if data.with_untracked(|d| d.race == race) {
                        data.update(|d| d.error = Some(message));
                        running.set(false);
                    }
                    in_flight.set(false);
                }
                _ => {}
            },
        );
    });

    // The buttons change only when running or finishing changes, not with every report.
    let buttons = Memo::new(move |_| (running.get(), data.with(|d| d.step) >= target_steps.get()));
    let status = move || {
        let (step, ms, n, error) = data.with(|d| (d.step, d.ms, d.units.len(), d.error.clone()));
        if let Some(e) = error {
            return format!("The race stopped: {e}.");
        }
        let target = target_steps.get();
        let speed = if ms > 0.0 { format!("{:.0} steps/s", step as f64 / (ms / 1000.0)) } else { "—".into() };
        let state = if settling.get() {
            "Waiting for the settings to rest"
        } else if step >= target && !in_flight.get() {
            "Finished"
        } else if running.get() {
            "Running"
        } else if in_flight.get() {
            // The steps already asked for come back before the race stands still.
            "Pausing"
        } else {
            "Paused"
        };
        format!("{state}: step {step} of {target} · {speed} in the worker ({n} networks each step)")
    };
    let names = move || data.with(|d| d.units.iter().map(|u| u.label().to_string()).collect::<Vec<_>>());
    let loss_series = Signal::derive(move || {
        let names = names();
        data.with(|d| {
            d.losses
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let points = thin(l.iter().enumerate().map(|(s, &v)| (s as f64, v as f64)));
                    styled(i, names[i].clone(), points)
                })
                .collect::<Vec<_>>()
        })
    });
    let fit_series = Signal::derive(move || {
        let names = names();
        let x = plot_x();
        let target = spec.with(|s| s.target);
        let mut series: Vec<Series> = data.with(|d| {
            d.snapshots
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    // Beyond ±FIT_CLIP a point is left out (the line breaks): the targets lie
                    // within ±1.5, and one wild network would flatten every other curve.
                    let points = x
                        .iter()
                        .zip(&s.fitted)
                        .map(|(&x, &y)| (x as f64, if (y as f64).abs() <= FIT_CLIP { y as f64 } else { f64::NAN }))
                        .collect();
                    styled(i, names[i].clone(), points)
                })
                .collect()
        });
        series.push(Series {
            name: "target".into(),
            colour: INK,
            points: x.iter().map(|&x| (x as f64, target.value(x) as f64)).collect(),
            dashed: true,
        });
        series
    });
    let top_k_series = Signal::derive(move || {
        let names = names();
        data.with(|d| {
            d.snapshots
                .iter()
                .enumerate()
                .map(|(i, s)| styled(i, names[i].clone(), s.top_k.iter().map(|&(k, l)| (k as f64, l as f64)).collect()))
                .collect::<Vec<_>>()
        })
    });
    let ratio_series = move |which: usize| {
        Signal::derive(move || {
            let names = names();
            data.with(|d| {
                (0..d.units.len())
                    .map(|i| {
                        let points = d
                            .ratios
                            .iter()
                            .map(|(s, r)| (*s as f64, if which == 0 { r[i].0 } else { r[i].1 } as f64))
                            .collect();
                        styled(i, names[i].clone(), points)
                    })
                    .collect::<Vec<_>>()
            })
        })
    };
    let tag = Signal::derive(move || {
        config
            .with(|c| format!("{}-w{}x{}-lr{}-seed{}", c.target.name(), c.width, c.layers, format_float(c.lr), c.seed))
    });
    let export_csv = move |_| {
        let file = format!("fitting-race-losses-{}.csv", tag.get_untracked());
        let csv = data.with_untracked(losses_csv);
        message.set(download_text(&csv, "text/csv", &file).err().map(|e| format!("The export failed: {e}")));
    };

    let results = move || {
        data.with(|d| {
            d.units
                .iter()
                .enumerate()
                .map(|(i, u)| {
                    let now = d.current.get(i).copied();
                    let note = match d.diverged.get(i).copied().flatten() {
                        Some(at) => format!(
                            "diverged at step {at} (the loss grew over {}× its start, or stopped being finite); \
                             training stopped",
                            readout_number(DIVERGED_GROWTH as f64)
                        ),
                        None => String::new(),
                    };
                    view! {
                        <tr data-unit=u.name()>
                            <th scope="row">{u.label()}</th>
                            <td data-value=now.map(|v| format!("{v}")).unwrap_or_default()>
                                {now.map(|v| readout_number(v as f64)).unwrap_or_default()}
                            </td>
                            <td>{note}</td>
                        </tr>
                    }
                })
                .collect::<Vec<_>>()
        })
    };

    view! {
        <section class="panel" aria-labelledby="race-title">
            <h2 id="race-title">"Fitting race"</h2>
            <p class="hint">
                "One small network per entrant — 1 input, the hidden layers with that unit, 1 output — all \
                 from the same seed, fitting the same 256 points of a 1-D target by full-batch Adam on mean \
                 squared error. The units' parameters stay as set above; weights and biases learn. PolyCom's \
                 claim is that its polynomial units approximate more with the same width: watch the loss \
                 curves and the fitted curves. A gated entrant's layers project to twice their width."
            </p>
            <div class="controls">
                <ListPicker
                    legend=format!("Entrants (1 to {ACT_RACE_MAX}); each uses the parameters set above")
                    id_prefix="race"
                    key=crate::labs::activations::settings::ACT_RACE_KEY
                    noun_one="entrant"
                    noun="entrants"
                    min=1
                    max=ACT_RACE_MAX
                    value=Signal::derive(move || config.with(|c| c.race.clone()))
                    on_change=Callback::new(move |v| config.update(|c| c.race = v))
                    test_id="entrant-picker"
                />
                {choice_field(config, |c| c.target, |c, v| c.target = v)}
                {int_field(config, ACT_WIDTH, |c| c.width, |c, v| c.width = v)}
                {int_field(config, ACT_LAYERS, |c| c.layers, |c, v| c.layers = v)}
                {int_field(config, ACT_STEPS, |c| c.steps, |c, v| c.steps = v)}
                {float_field(config, ACT_LR, |c| c.lr, |c, v| c.lr = v)}
            </div>
            <p class="race-buttons">
                {move || {
                    let (running_now, done) = buttons.get();
                    if running_now {
                        view! { <button type="button" data-testid="race-pause" on:click=move |_| running.set(false)>"Pause"</button> }.into_any()
                    } else {
                        view! {
                            <button type="button" class="primary" data-testid="race-resume" disabled=done
                                on:click=move |_| running.set(true)>"Resume"</button>
                        }.into_any()
                    }
                }}
                " "
                <button type="button" data-testid="race-reset" on:click=move |_| start_over()>"Reset"</button>
                " "
                <span class="status" role="status" data-testid="race-status">{status}</span>
            </p>
            <progress
                max=move || target_steps.get()
                value=move || data.with(|d| d.step)
                aria-label="Race progress"
            ></progress>
            <div class="table-scroll" tabindex="0" role="region" aria-label="Race losses">
                <table class="race-table" data-testid="race-losses">
                    <caption>"Loss now (mean squared error over the 256 points)"</caption>
                    <thead><tr><th scope="col">"entrant"</th><th scope="col">"loss"</th><th scope="col">"note"</th></tr></thead>
                    <tbody>{results}</tbody>
                </table>
            </div>
            <div class="export">
                <span>"Export:"</span>
                <button type="button" data-testid="race-csv" on:click=export_csv>"Losses CSV (every step)"</button>
                <span role="status">{move || message.get()}</span>
            </div>
            <div class="chart-grid">
                <LineChart title="Training loss" x=Axis { label: "step", log: false } y=Axis { label: "loss (MSE)", log: true }
                    series=loss_series file_tag=tag test_id="chart-loss" dense=true/>
                <LineChart title="Fitted curves (within ±5)" x=Axis { label: "x", log: false } y=Axis { label: "prediction", log: false }
                    series=fit_series file_tag=tag test_id="chart-fit" dense=true/>
            </div>
        </section>
        <section class="panel" aria-labelledby="sparsity-title">
            <h2 id="sparsity-title">"Sparsity of the hidden layers"</h2>
            <p class="hint">
                {format!(
                    "How the trained networks use their hidden units, on the 256 training inputs. The activation \
                     ratio is the share of hidden outputs that are not exactly 0; ReLU-like units produce exact \
                     zeros, smooth units (SiLU, GELU) almost never do, so for them the share above {ACTIVE_ABOVE} in \
                     magnitude is shown too. Top-k keeps each layer's k largest outputs per input and zeroes the \
                     rest: how much of the fit the largest units carry."
                )}
            </p>
            <SparsityTable data=data/>
            <div class="histograms" data-testid="histograms">
                {move || {
                    let names = names();
                    data.with(|d| {
                        d.snapshots
                            .iter()
                            .enumerate()
                            .map(|(i, s)| view! { <Histograms name=names[i].clone() colour=i snapshot=s.clone()/> })
                            .collect::<Vec<_>>()
                    })
                }}
            </div>
            <div class="chart-grid">
                <LineChart title="Loss under top-k" x=Axis { label: "k (units kept per layer)", log: true }
                    y=Axis { label: "loss (MSE)", log: true } series=top_k_series file_tag=tag test_id="chart-topk"/>
                <LineChart title="Activation ratio during training" x=Axis { label: "step", log: false }
                    y=Axis { label: "share of layer-1 outputs ≠ 0", log: false } series=ratio_series(0) file_tag=tag
                    test_id="chart-ratio" dense=true/>
                <LineChart title="Share above 0.01 during training" x=Axis { label: "step", log: false }
                    y=Axis { label: "share of layer-1 outputs with |a| > 0.01", log: false } series=ratio_series(1)
                    file_tag=tag test_id="chart-active" dense=true/>
            </div>
            <p class="hint" data-testid="sparsity-contrast">{move || data.with(contrast)}</p>
        </section>
    }
}

/// The ReLU-versus-SiLU contrast in words, from the race's own numbers.
fn contrast(d: &RaceData) -> String {
    let (Some(first), Some(last)) = (d.ratios.first(), d.ratios.last()) else {
        return "The contrast between ReLU and SiLU appears once the race has run.".into();
    };
    let mut parts = Vec::new();
    for (i, u) in d.units.iter().enumerate() {
        let (r0, a0) = first.1[i];
        let (r1, a1) = last.1[i];
        parts.push(format!(
            "{}: {:.0}% of layer-1 outputs non-zero at step {} → {:.0}% at step {} ({:.0}% → {:.0}% above {ACTIVE_ABOVE})",
            u.label(),
            100.0 * r0,
            first.0,
            100.0 * r1,
            last.0,
            100.0 * a0,
            100.0 * a1
        ));
    }
    let mut text = parts.join("; ");
    text.push_str(
        ". The Sparsing Law reports ReLU's activation ratio falling as training goes on and SiLU's rising; \
         these one-input networks, trained for a few thousand steps at most, show what their units allow rather \
         than that trend.",
    );
    text
}

#[component]
fn SparsityTable(data: RwSignal<RaceData>) -> impl IntoView {
    let rows = move || {
        data.with(|d| {
            d.units
                .iter()
                .zip(&d.snapshots)
                .map(|(u, s)| {
                    let cells = s
                        .ratio
                        .iter()
                        .zip(&s.active)
                        .map(|(r, a)| {
                            view! {
                                <td data-value=format!("{r}")>{format!("{:.1}%", 100.0 * r)}</td>
                                <td>{format!("{:.1}%", 100.0 * a)}</td>
                            }
                        })
                        .collect::<Vec<_>>();
                    view! { <tr data-unit=u.name()><th scope="row">{u.label()}</th>{cells}</tr> }
                })
                .collect::<Vec<_>>()
        })
    };
    let layers = move || data.with(|d| d.snapshots.first().map_or(1, |s| s.ratio.len()));
    view! {
        <div class="table-scroll" tabindex="0" role="region" aria-label="Sparsity">
            <table class="race-table" data-testid="sparsity-table">
                <caption>"Activation ratio per hidden layer, now"</caption>
                <thead>
                    <tr>
                        <th scope="col">"entrant"</th>
                        {move || (1..=layers()).map(|l| view! {
                            <th scope="col">{format!("layer {l}: ≠ 0")}</th>
                            <th scope="col">{format!("layer {l}: |a| > {ACTIVE_ABOVE}")}</th>
                        }).collect::<Vec<_>>()}
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

/// One entrant's hidden-output histograms (one per layer), exact zeros marked.
#[component]
fn Histograms(name: String, colour: usize, snapshot: Snapshot) -> impl IntoView {
    const W: f64 = 240.0;
    const H: f64 = 90.0;
    let fill = crate::components::chart::colour(colour);
    let layers = snapshot
        .histograms
        .iter()
        .enumerate()
        .map(|(l, h)| {
            let top = h.counts.iter().copied().max().unwrap_or(1).max(1) as f64;
            let bw = W / h.counts.len() as f64;
            let bars = h
                .counts
                .iter()
                .enumerate()
                .map(|(b, &c)| {
                    let bh = (c as f64 / top).sqrt() * (H - 14.0);
                    view! { <rect x=b as f64 * bw + 0.5 y=H - 14.0 - bh width=(bw - 1.0).max(0.5) height=bh fill=fill/> }
                })
                .collect::<Vec<_>>();
            let zero_share = h.zeros as f64 / h.total.max(1) as f64;
            view! {
                <figure class="histogram">
                    <figcaption>{format!("{name}, layer {}", l + 1)}</figcaption>
                    <svg viewBox=format!("0 0 {W} {H}") role="img"
                        aria-label=format!("Histogram of {name}'s layer-{} outputs from {} to {}", l + 1, h.lo, h.hi)>
                        {bars}
                        <text x="2" y=H - 2.0 font-size="10" fill="currentColor">{readout_number(h.lo as f64)}</text>
                        <text x=W - 2.0 y=H - 2.0 font-size="10" text-anchor="end" fill="currentColor">{readout_number(h.hi as f64)}</text>
                    </svg>
                    <p class="hint">{format!("{:.1}% exactly 0 · bar heights by square root of the count", 100.0 * zero_share)}</p>
                </figure>
            }
        })
        .collect::<Vec<_>>();
    view! { <div class="histogram-group">{layers}</div> }
}
