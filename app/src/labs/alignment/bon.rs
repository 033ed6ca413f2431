//! Best-of-N against the KL-constrained optimum, exactly, on a discrete base distribution:
//! expected reward against `KL(·‖p)` for both, with the continuous-reward formula
//! `ln N − (N−1)/N` beside the exact KL.

use leptos::prelude::*;
use softplay_kernels::alignment::best_of_n::{bon_kl_formula, frontier, FrontierPoint};

use super::{now_ms, Lab};
use crate::{
    components::{
        chart::{Axis, LineChart, Series, INK},
        controls::choice_field,
    },
    labs::alignment::settings::{AlignmentConfig, BaseDist, BON_MAX_OUTCOMES, BON_P, BON_R},
    state::codec::{format_float, Choice},
};

/// The largest N.
pub const N_MAX: u32 = 1024;
/// β values of the tilt's curve (log-spaced over six decades of the reward spread).
const BETAS: usize = 241;
/// The N of the table.
const TABLE_N: [u32; 6] = [2, 4, 16, 64, 256, 1024];

/// The outcomes' probabilities (summing to 1) and rewards.
pub fn outcomes(c: &AlignmentConfig) -> (Vec<f64>, Vec<f64>) {
    let (p, r): (Vec<f64>, Vec<f64>) = match c.base {
        BaseDist::Normal => (0..33)
            .map(|i| {
                let x = -4.0 + 0.25 * i as f64;
                ((-0.5 * x * x).exp(), x)
            })
            .unzip(),
        BaseDist::Uniform => (0..16).map(|i| (1.0, i as f64 / 15.0)).unzip(),
        BaseDist::Skewed => (0..20).map(|i| (0.7f64.powi(i), i as f64)).unzip(),
        BaseDist::Ties => {
            let w = [5.0, 4.0, 3.0, 5.0, 4.0, 3.0, 3.0, 2.0, 1.0, 2.0, 1.0, 1.0];
            w.iter().enumerate().map(|(i, &w)| (w, (i / 3) as f64)).unzip()
        }
        // The editor commits the two lists only when they match (the codec checks links).
        BaseDist::Custom => (c.base_p.clone(), c.base_r.clone()),
    };
    let total: f64 = p.iter().sum();
    (p.iter().map(|x| x / total).collect(), r)
}

#[derive(PartialEq)]
struct Frontiers {
    bon: Vec<FrontierPoint>,
    tilt: Vec<FrontierPoint>,
    /// `−ln p(best outcomes)`: the most KL best-of-N can reach.
    cap: f64,
    ms: f64,
}

fn compute(c: &AlignmentConfig) -> Frontiers {
    let start = now_ms();
    let (p, r) = outcomes(c);
    let (lo, hi) = r.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    let spread = if hi > lo { hi - lo } else { 1.0 };
    let betas: Vec<f64> = (0..BETAS).map(|i| spread * 10f64.powf(3.0 - 6.0 * i as f64 / (BETAS - 1) as f64)).collect();
    let ns: Vec<u32> = (1..=N_MAX).collect();
    let (bon, tilt) = frontier(&p, &r, &ns, &betas);
    // The best reward best-of-N can draw: the highest among outcomes that can occur.
    let best = p.iter().zip(&r).filter(|(p, _)| **p > 0.0).fold(f64::NEG_INFINITY, |m, (_, &r)| m.max(r));
    let top: f64 = p.iter().zip(&r).filter(|(_, &r)| r == best).map(|(p, _)| p).sum();
    Frontiers { bon, tilt, cap: -top.ln(), ms: now_ms() - start }
}

/// The tilt's reward at `kl`, by linear interpolation along its curve (KL grows as β falls).
fn tilt_reward_at(tilt: &[FrontierPoint], kl: f64) -> Option<f64> {
    tilt.windows(2).find(|w| w[0].kl <= kl && kl <= w[1].kl).map(|w| {
        let t = if w[1].kl > w[0].kl { (kl - w[0].kl) / (w[1].kl - w[0].kl) } else { 0.0 };
        w[0].reward + t * (w[1].reward - w[0].reward)
    })
}

#[component]
pub fn BestOfN() -> impl IntoView {
    let config = expect_context::<Lab>().config;
    // Only this panel's settings recompute it.
    let outcomes_set = Memo::new(move |_| config.with(|c| (c.base, c.base_p.clone(), c.base_r.clone())));
    let result = Memo::new(move |_| {
        // Read (not only tracked): a memo never read never computes, and would never change.
        outcomes_set.with(|_| ());
        config.with_untracked(compute)
    });
    let frontier_series = Signal::derive(move || {
        result.with(|f| {
            vec![
                Series {
                    name: "best-of-N, exact (N = 1…1024)".into(),
                    colour: 0,
                    points: f.bon.iter().map(|p| (p.kl, p.reward)).collect(),
                    dashed: false,
                },
                Series {
                    name: "KL-optimal tilt p·e^(r/β)".into(),
                    colour: 1,
                    points: f.tilt.iter().map(|p| (p.kl, p.reward)).collect(),
                    dashed: false,
                },
                Series {
                    name: "best-of-N placed at ln N − (N−1)/N".into(),
                    colour: 2,
                    points: f.bon.iter().map(|p| (bon_kl_formula(p.knob as u32), p.reward)).collect(),
                    dashed: true,
                },
            ]
        })
    });
    let kl_series = Signal::derive(move || {
        result.with(|f| {
            vec![
                Series {
                    name: "KL(best-of-N ‖ p), exact".into(),
                    colour: 0,
                    points: f.bon.iter().map(|p| (p.knob, p.kl)).collect(),
                    dashed: false,
                },
                Series {
                    name: "ln N − (N−1)/N".into(),
                    colour: 2,
                    points: f.bon.iter().map(|p| (p.knob, bon_kl_formula(p.knob as u32))).collect(),
                    dashed: true,
                },
                Series {
                    name: "−ln p(best reward): the most KL there is".into(),
                    colour: INK,
                    points: vec![(1.0, f.cap), (N_MAX as f64, f.cap)],
                    dashed: true,
                },
            ]
        })
    });
    let custom = Memo::new(move |_| config.with(|c| c.base == BaseDist::Custom));
    let tag = Signal::derive(move || config.with(|c| c.base.name().to_string()));
    view! {
        <section class="panel" aria-labelledby="bon-title">
            <h2 id="bon-title">"Best-of-N against KL-constrained RL"</h2>
            <p class="hint">
                "Best-of-N draws N outcomes from the base distribution p and keeps the best; the KL-constrained \
                 optimum tilts p by e^(r/β). Both are computed exactly here. They trace nearly the same frontier \
                 of reward against KL(·‖p), and for a continuous reward best-of-N's KL is ln N − (N−1)/N; on a \
                 discrete set it falls short of that once N finds the best outcome every time."
            </p>
            <div class="controls">
                {choice_field(config, |c| c.base, |c, v| c.base = v)}
                <Show when=move || custom.get()>
                    <CustomOutcomes/>
                </Show>
                <Show when=move || !custom.get()>
                    <button type="button" on:click=move |_| config.update(|c| {
                        let (p, r) = outcomes(c);
                        c.base_p = p.iter().map(|x| (x * 1e6).round() / 1e6).collect();
                        c.base_r = r;
                        c.base = BaseDist::Custom;
                    })>"Edit this distribution"</button>
                </Show>
            </div>
            <div class="chart-grid">
                <LineChart title="Expected reward against KL(·‖p)" x=Axis { label: "KL (nats)", log: false }
                    y=Axis { label: "expected reward", log: false } series=frontier_series file_tag=tag
                    test_id="chart-bon-frontier" dense=true/>
                <LineChart title="KL of best-of-N against N" x=Axis { label: "N", log: true }
                    y=Axis { label: "KL (nats)", log: false } series=kl_series file_tag=tag test_id="chart-bon-kl" dense=true/>
            </div>
            <div class="table-scroll" tabindex="0" role="region" aria-label="Best-of-N results">
                <table class="data bon-table" data-testid="bon-table">
                    <caption>"Best-of-N and the tilt at the same KL"</caption>
                    <thead><tr>
                        <th scope="col">"N"</th><th scope="col">"KL exact"</th><th scope="col">"ln N − (N−1)/N"</th>
                        <th scope="col">"reward, best-of-N"</th><th scope="col">"reward, tilt at that KL"</th>
                    </tr></thead>
                    <tbody>
                        {move || result.with(|f| TABLE_N.iter().map(|&n| {
                            let p = f.bon[(n - 1) as usize];
                            let tilt = tilt_reward_at(&f.tilt, p.kl).map_or("—".to_string(), |r| format!("{r:.4}"));
                            view! { <tr>
                                <td>{n}</td><td>{format!("{:.4}", p.kl)}</td><td>{format!("{:.4}", bon_kl_formula(n))}</td>
                                <td>{format!("{:.4}", p.reward)}</td><td>{tilt}</td>
                            </tr> }
                        }).collect::<Vec<_>>())}
                    </tbody>
                </table>
            </div>
            <p class="hint" data-testid="bon-time">
                {move || result.with(|f| format!("{N_MAX} best-of-N distributions and {BETAS} tilts computed in {:.1} ms.", f.ms))}
            </p>
        </section>
    }
}

fn list_text(v: &[f64]) -> String {
    v.iter().map(|&x| format_float(x)).collect::<Vec<_>>().join(", ")
}

/// Reads a list of numbers; the message names the first bad entry and the range.
fn parse_list(text: &str, low: f64, high: f64, what: &str) -> Result<Vec<f64>, String> {
    let mut out = Vec::new();
    for (i, part) in text.split(',').map(str::trim).filter(|p| !p.is_empty()).enumerate() {
        match part.parse::<f64>() {
            Ok(x) if x.is_finite() && (low..=high).contains(&x) => out.push(x),
            _ => {
                return Err(format!(
                    "{what} number {} is “{part}”: must be a number in {}..{}; the last good list is kept",
                    i + 1,
                    format_float(low),
                    format_float(high)
                ))
            }
        }
    }
    if out.len() < 2 || out.len() > BON_MAX_OUTCOMES {
        return Err(format!("{what}: {} values; needs 2 to {BON_MAX_OUTCOMES}; the last good list is kept", out.len()));
    }
    Ok(out)
}

/// The custom outcomes: probabilities (any non-negative weights, normalised) and rewards.
#[component]
fn CustomOutcomes() -> impl IntoView {
    let config = expect_context::<Lab>().config;
    let message = RwSignal::new(None::<String>);
    // A list read but not yet used: its partner has another length.
    let pending = RwSignal::new((None::<Vec<f64>>, None::<Vec<f64>>));
    let apply = move |probabilities: bool, text: String| {
        let result = if probabilities {
            parse_list(&text, 0.0, 1e6, "probabilities")
        } else {
            parse_list(&text, -1e6, 1e6, "rewards")
        };
        let v = match result {
            Err(e) => return message.set(Some(e)),
            Ok(v) if probabilities && v.iter().sum::<f64>() <= 0.0 => {
                return message.set(Some("probabilities: they add up to 0; the last good list is kept".into()))
            }
            Ok(v) => v,
        };
        let (mut p, mut r) = pending.get_untracked();
        if probabilities {
            p = Some(v);
        } else {
            r = Some(v);
        }
        let c = config.get_untracked();
        let (np, nr) = (p.as_ref().map_or(c.base_p.len(), Vec::len), r.as_ref().map_or(c.base_r.len(), Vec::len));
        if np != nr {
            message.set(Some(format!(
                "{np} probabilities and {nr} rewards: edit the other list to match; the chart keeps the last matching pair"
            )));
            pending.set((p, r));
            return;
        }
        message.set(None);
        pending.set((None, None));
        config.update(|c| {
            if let Some(p) = p {
                c.base_p = p;
            }
            if let Some(r) = r {
                c.base_r = r;
            }
        });
    };
    let shown = move |probabilities: bool| {
        let held = pending.with(|(p, r)| if probabilities { p.clone() } else { r.clone() });
        held.map_or_else(
            || config.with(|c| list_text(if probabilities { &c.base_p } else { &c.base_r })),
            |v| list_text(&v),
        )
    };
    view! {
        <div class="control control-wide">
            <label for="ctl-bp">"Probabilities (weights, normalised)"</label>
            <input id="ctl-bp" type="text" data-key=BON_P prop:value=move || shown(true)
                on:change=move |ev| apply(true, event_target_value(&ev))/>
        </div>
        <div class="control control-wide">
            <label for="ctl-br">"Rewards"</label>
            <input id="ctl-br" type="text" data-key=BON_R prop:value=move || shown(false)
                on:change=move |ev| apply(false, event_target_value(&ev))/>
        </div>
        <p class="control-message" role="status" data-testid="bon-message">{move || message.get()}</p>
    }
}
