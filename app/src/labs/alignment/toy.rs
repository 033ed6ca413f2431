//! The DPO toy: a softmax policy over V responses, its frozen reference, pairs from the
//! responses the person marks; trained in the lab's worker with any loss, the remedies
//! (Flex-DPO, an SFT term) and on- or off-policy pairs.

use leptos::prelude::*;
use softplay_kernels::alignment::preference_toy::{Policy, ToySpec, ToyTrace};

use super::{
    losses::{kernel_loss, loss_params},
    Lab,
};
use softplay_worker::{
    alignment::{Done, Request},
    protocol::Reply,
};

use crate::{
    components::{
        chart::{Axis, LineChart, Series, INK},
        controls::{choice_field, flag_field, float_field, int_field},
    },
    labs::alignment::settings::{
        AlignmentConfig, ToyPolicy, TOY_BETA_MINUS, TOY_FEATURES, TOY_FLEX, TOY_FOCUS, TOY_LR, TOY_ON_POLICY,
        TOY_PROMPTS_MAX, TOY_SAMPLES, TOY_SFT, TOY_STEPS, TOY_V,
    },
    state::codec::Choice,
    worker::latest::Latest,
};

/// The kernels' settings of the toy, and its step count.
pub fn toy_spec(c: &AlignmentConfig) -> (ToySpec, u32) {
    let spec = ToySpec {
        responses: c.responses,
        chosen: c.chosen.clone(),
        rejected: c.rejected.clone(),
        policy: match c.policy {
            ToyPolicy::Linear => Policy::Linear { features: c.features },
            ToyPolicy::Tabular => Policy::Tabular,
        },
        loss: kernel_loss(c.loss),
        params: loss_params(c),
        beta_rejected: if c.flex { c.beta_minus } else { c.beta },
        sft_alpha: c.sft,
        on_policy: c.on_policy,
        samples: c.samples,
        lr: c.lr,
        focus: c.focus,
        seed: c.seed,
    };
    (spec, c.steps)
}

/// Which series of a trace a chart shows: name, colour, values.
type Pick = fn(&ToyTrace) -> Vec<(&'static str, usize, &Vec<f64>)>;

#[derive(Clone, Debug, Default, PartialEq)]
struct Run {
    trace: Option<ToyTrace>,
    ms: f64,
    /// `(done, total)` while a long run trains.
    progress: Option<(u32, u32)>,
    error: Option<String>,
    /// The learning rate of the run shown (for the message of a run that diverged).
    lr: f64,
}

/// A response's role for one prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Unseen,
    Chosen,
    Rejected,
}

fn role(c: &AlignmentConfig, prompt: usize, i: u32) -> Role {
    if c.chosen[prompt].contains(&i) {
        Role::Chosen
    } else if c.rejected[prompt].contains(&i) {
        Role::Rejected
    } else {
        Role::Unseen
    }
}

/// Keeps the marked responses below a new V (a set left empty gets the first free response).
pub fn resize(c: &mut AlignmentConfig, v: u32) {
    c.responses = v;
    for p in 0..c.chosen.len() {
        c.chosen[p].retain(|&i| i < v);
        c.rejected[p].retain(|&i| i < v);
        if c.chosen[p].is_empty() {
            let free = (0..v).find(|i| !c.rejected[p].contains(i)).unwrap_or(0);
            c.chosen[p].push(free);
        }
        if c.rejected[p].is_empty() {
            let free = (0..v).find(|i| !c.chosen[p].contains(i)).unwrap_or(1);
            c.rejected[p].push(free);
        }
    }
}

#[component]
pub fn Toy() -> impl IntoView {
    let Lab { config, compute } = expect_context::<Lab>();
    let run = RwSignal::new(Run::default());
    let latest = Latest::new(compute, move |_: &(), response| match response {
        Reply::Progress { done, total, .. } => run.update(|r| r.progress = Some((done, total))),
        Reply::Done(Done::Toy(report)) => run.update(|r| {
            r.trace = Some(report.trace);
            if report.done {
                r.ms = report.ms;
                r.progress = None;
            }
        }),
        Reply::Failed { message, .. } => run.update(|r| {
            r.error = Some(message);
            r.progress = None;
        }),
        _ => {}
    });
    let spec = Memo::new(move |_| config.with(toy_spec));
    Effect::new(move |_| {
        let (spec, steps) = spec.get();
        // The last run stays on screen until the new one arrives; the status says it trains.
        run.update(|r| {
            r.error = None;
            r.progress = Some((0, steps));
            r.lr = spec.lr;
        });
        latest.request((), move |id| Request::Toy { id, spec, steps });
    });
    let linear = Memo::new(move |_| config.with(|c| c.policy == ToyPolicy::Linear));
    let flex = Memo::new(move |_| config.with(|c| c.flex));
    // Flex-DPO splits the β of the losses that read the margin through β.
    let beta_scaled = Memo::new(move |_| config.with(|c| kernel_loss(c.loss).is_beta_scaled()));
    let on_policy = Memo::new(move |_| config.with(|c| c.on_policy));
    let steps_axis = Axis { label: "step", log: false };
    let trace_series = move |pick: Pick| {
        Signal::derive(move || {
            run.with(|r| {
                r.trace
                    .as_ref()
                    .map(|t| {
                        pick(t)
                            .into_iter()
                            .map(|(name, colour, values)| Series {
                                name: name.to_string(),
                                colour,
                                points: t.steps.iter().zip(values).map(|(&s, &v)| (s as f64, v)).collect(),
                                dashed: false,
                            })
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            })
        })
    };
    let logp = trace_series(|t| vec![("ln π(chosen)", 2, &t.log_chosen), ("ln π(rejected)", 1, &t.log_rejected)]);
    let shares = trace_series(|t| {
        vec![("mass on unseen responses", 3, &t.unseen_mass), ("implicit-reward accuracy", 0, &t.accuracy)]
    });
    let kl = trace_series(|t| vec![("KL(π ‖ π_ref)", 4, &t.kl), ("loss", 5, &t.loss)]);
    let policy = Signal::derive(move || {
        run.with(|r| {
            let Some(t) = r.trace.as_ref() else { return Vec::new() };
            let mut out = vec![Series {
                name: "reference π_ref (prompt 1)".into(),
                colour: INK,
                points: t.reference[0].iter().enumerate().map(|(i, &p)| (i as f64, p)).collect(),
                dashed: true,
            }];
            for (p, probs) in t.policy.iter().enumerate() {
                out.push(Series {
                    name: format!("π after training (prompt {})", p + 1),
                    colour: p,
                    points: probs.iter().enumerate().map(|(i, &p)| (i as f64, p)).collect(),
                    dashed: false,
                });
            }
            out
        })
    });
    let tag = Signal::derive(move || config.with(|c| format!("{}-{}", c.loss.name(), c.policy.name())));
    view! {
        <section class="panel" aria-labelledby="toy-title">
            <h2 id="toy-title">"The DPO toy: drastic drop, degradation, dispersion"</h2>
            <p class="hint">
                "A softmax policy over V responses starts at a frozen reference; every chosen response is \
                 preferred to every rejected one. With a shared (linear) policy, pushing the rejected response \
                 down also pushes its neighbours, and the mass goes to responses nobody labelled \
                 (Yan et al. 2025, the 3D-properties). Click a response to mark it chosen, rejected or unseen."
            </p>
            <div class="controls">
                {choice_field(config, |c| c.loss, |c, v| c.loss = v)}
                {choice_field(config, |c| c.policy, |c, v| c.policy = v)}
                <Show when=move || linear.get()>
                    {int_field(config, TOY_FEATURES, |c| c.features, |c, v| c.features = v)}
                </Show>
                {int_field(config, TOY_V, |c| c.responses, resize)}
                {int_field(config, TOY_STEPS, |c| c.steps, |c, v| c.steps = v)}
                {float_field(config, TOY_LR, |c| c.lr, |c, v| c.lr = v)}
                {float_field(config, TOY_FOCUS, |c| c.focus, |c, v| c.focus = v)}
                <Show when=move || beta_scaled.get()>
                    {flag_field(config, TOY_FLEX, |c| c.flex, |c, v| c.flex = v)}
                </Show>
                <Show when=move || flex.get() && beta_scaled.get()>
                    {float_field(config, TOY_BETA_MINUS, |c| c.beta_minus, |c, v| c.beta_minus = v)}
                </Show>
                {float_field(config, TOY_SFT, |c| c.sft, |c, v| c.sft = v)}
                {flag_field(config, TOY_ON_POLICY, |c| c.on_policy, |c, v| c.on_policy = v)}
                <Show when=move || on_policy.get()>
                    {int_field(config, TOY_SAMPLES, |c| c.samples, |c, v| c.samples = v)}
                </Show>
            </div>
            <RoleEditor/>
            <p class="toy-status" role="status" data-testid="toy-status">
                {move || run.with(|r| match (&r.error, r.progress, &r.trace) {
                    (Some(e), _, _) => format!("The toy could not train: {e}"),
                    (None, Some((done, total)), _) => format!("Training… step {done} of {total}"),
                    (None, None, Some(t)) => match t.diverged_at {
                        Some(step) => format!(
                            "Stopped at step {step}: a value stopped being finite. Lower the learning rate \
                             (this run's: {}) and it trains again.",
                            r.lr
                        ),
                        None => format!("Trained {} steps in {:.0} ms (in the lab's worker).", t.steps.last().copied().unwrap_or(0), r.ms),
                    },
                    _ => "Training…".to_string(),
                })}
            </p>
            <p class="toy-summary" data-testid="toy-summary">{move || run.with(|r| r.trace.as_ref().map(summary))}</p>
            <div class="chart-grid">
                <LineChart title="Log-probabilities of the pairs" x=steps_axis y=Axis { label: "mean ln π", log: false }
                    series=logp file_tag=tag test_id="chart-toy-logp" dense=true/>
                <LineChart title="Unseen mass and implicit-reward accuracy" x=steps_axis
                    y=Axis { label: "share", log: false } series=shares file_tag=tag test_id="chart-toy-mass" dense=true/>
                <LineChart title="KL to the reference and the loss" x=steps_axis y=Axis { label: "nats", log: false }
                    series=kl file_tag=tag test_id="chart-toy-kl" dense=true/>
                <LineChart title="The policy over responses" x=Axis { label: "response", log: false }
                    y=Axis { label: "π(response)", log: false } series=policy file_tag=tag test_id="chart-toy-policy" dense=true/>
            </div>
        </section>
    }
}

/// The 3D-properties, read from the run's own numbers.
fn summary(t: &ToyTrace) -> String {
    let first = |v: &Vec<f64>| v.first().copied().unwrap_or(0.0);
    let last = |v: &Vec<f64>| v.last().copied().unwrap_or(0.0);
    let (c0, c1) = (first(&t.log_chosen), last(&t.log_chosen));
    let (r0, r1) = (first(&t.log_rejected), last(&t.log_rejected));
    let (u0, u1) = (first(&t.unseen_mass), last(&t.unseen_mass));
    let chosen = if c1 < c0 {
        format!("the chosen one fell too, from {c0:.2} to {c1:.2} (degradation)")
    } else if c1 - c0 < 0.1 * (r0 - r1).abs() {
        format!("the chosen one barely rose, from {c0:.2} to {c1:.2} (degradation)")
    } else {
        format!("the chosen one rose from {c0:.2} to {c1:.2}")
    };
    let unseen = if u1 > u0 {
        format!("mass on unseen responses rose from {:.1}% to {:.1}% (dispersion)", 100.0 * u0, 100.0 * u1)
    } else {
        format!("mass on unseen responses fell from {:.1}% to {:.1}%", 100.0 * u0, 100.0 * u1)
    };
    let drop = if r1 < r0 - 2.0 { " (drastic drop)" } else { "" };
    format!("ln π(rejected) went from {r0:.2} to {r1:.2}{drop}; {chosen}; {unseen}.")
}

/// One row of responses per prompt: click to cycle unseen → chosen → rejected.
#[component]
fn RoleEditor() -> impl IntoView {
    let config = expect_context::<Lab>().config;
    let message = RwSignal::new(None::<String>);
    let prompts = Memo::new(move |_| config.with(|c| (c.chosen.len(), c.responses)));
    let cycle = move |p: usize, i: u32| {
        let c = config.get_untracked();
        let next = match role(&c, p, i) {
            Role::Unseen => Role::Chosen,
            Role::Chosen => Role::Rejected,
            Role::Rejected => Role::Unseen,
        };
        let now = role(&c, p, i);
        let last_of = |set: &Vec<u32>| set.len() == 1 && set[0] == i;
        if now == Role::Chosen && last_of(&c.chosen[p]) {
            message.set(Some(format!(
                "Prompt {} needs a chosen response: mark another one chosen before changing response {i}.",
                p + 1
            )));
            return;
        }
        if now == Role::Rejected && last_of(&c.rejected[p]) {
            message.set(Some(format!(
                "Prompt {} needs a rejected response: mark another one rejected before changing response {i}.",
                p + 1
            )));
            return;
        }
        message.set(None);
        config.update(|c| {
            c.chosen[p].retain(|&x| x != i);
            c.rejected[p].retain(|&x| x != i);
            match next {
                Role::Chosen => c.chosen[p].push(i),
                Role::Rejected => c.rejected[p].push(i),
                Role::Unseen => {}
            }
            c.chosen[p].sort_unstable();
            c.rejected[p].sort_unstable();
        });
    };
    let add_prompt = move |_| {
        config.update(|c| {
            if c.chosen.len() < TOY_PROMPTS_MAX {
                let v = c.responses;
                let p = c.chosen.len() as u32;
                c.chosen.push(vec![(v / 2 + 3 * p) % v]);
                c.rejected.push(vec![(v / 2 + 3 * p + v - 2) % v]);
            }
        })
    };
    let remove_prompt = move |_| {
        config.update(|c| {
            if c.chosen.len() > 1 {
                c.chosen.pop();
                c.rejected.pop();
            }
        })
    };
    view! {
        <fieldset class="role-editor" data-testid="role-editor">
            <legend>"Pairs: chosen (✓), rejected (✗) and unseen responses, per prompt"</legend>
            {move || {
                let (count, v) = prompts.get();
                (0..count).map(|p| view! {
                    <div class="role-row" role="group" aria-label=format!("Prompt {}", p + 1)>
                        <span class="role-prompt">{format!("Prompt {}", p + 1)}</span>
                        {(0..v).map(|i| {
                            let r = Memo::new(move |_| config.with(|c| if p < c.chosen.len() { role(c, p, i) } else { Role::Unseen }));
                            view! {
                                <button
                                    type="button"
                                    class="role"
                                    class:chosen=move || r.get() == Role::Chosen
                                    class:rejected=move || r.get() == Role::Rejected
                                    data-testid=format!("role-{p}-{i}")
                                    aria-label=move || format!("Response {i}: {}", match r.get() {
                                        Role::Chosen => "chosen",
                                        Role::Rejected => "rejected",
                                        Role::Unseen => "unseen",
                                    })
                                    on:click=move |_| cycle(p, i)
                                >
                                    {move || match r.get() { Role::Chosen => "✓", Role::Rejected => "✗", Role::Unseen => "" }}
                                </button>
                            }
                        }).collect::<Vec<_>>()}
                    </div>
                }).collect::<Vec<_>>()
            }}
            <div class="role-actions">
                <button type="button" on:click=add_prompt disabled=move || { prompts.get().0 >= TOY_PROMPTS_MAX }>
                    "Add a prompt"
                </button>
                <button type="button" on:click=remove_prompt disabled=move || { prompts.get().0 <= 1 }>
                    "Remove the last prompt"
                </button>
            </div>
            <p class="control-message" role="status">{move || message.get()}</p>
        </fieldset>
    }
}
