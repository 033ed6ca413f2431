//! Nash learning on a preference matrix: plain self-play, Nash-MD and EGPO, their
//! exploitability over the iterations and, for three responses, their paths on the simplex.

use leptos::prelude::*;
use softplay_kernels::{
    alignment::nash::{preset, run, NashMethod, NashSpec, NashTrace, Preset},
    Rng,
};

use super::{content::method, now_ms, Lab};
use crate::{
    components::{
        chart::{colour, Axis, LineChart, Series},
        controls::{choice_field, float_field, int_field},
    },
    labs::alignment::settings::{AlignmentConfig, PrefMatrix, NASH_ETA, NASH_ITERS, NASH_K, NASH_TAU},
    state::codec::{format_float, Choice},
};

/// Most points per exploitability curve.
const CURVE_POINTS: usize = 1000;
/// The log axis's floor: an exploitability of exactly 0 is drawn here.
const FLOOR: f64 = 1e-16;

/// `P` (row-major) of the settings.
pub fn matrix(c: &AlignmentConfig) -> Vec<f64> {
    let k = c.k as usize;
    match c.pref {
        PrefMatrix::Rps => preset(Preset::RockPaperScissors, k, c.seed),
        PrefMatrix::BradleyTerry => preset(Preset::BradleyTerry, k, c.seed),
        PrefMatrix::Random => preset(Preset::Random, k, c.seed),
        PrefMatrix::Custom => {
            let mut m = vec![0.5; k * k];
            for ((i, j), &v) in upper(k).zip(&c.custom) {
                m[i * k + j] = v;
                m[j * k + i] = 1.0 - v;
            }
            m
        }
    }
}

/// The custom matrix's cells above the diagonal, row by row.
fn upper(k: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..k).flat_map(move |i| (i + 1..k).map(move |j| (i, j)))
}

/// A new K keeps each custom cell `P(i ≻ j)` where it was; new cells are ½.
fn resize(c: &mut AlignmentConfig, k: u32) {
    let kept: Vec<((usize, usize), f64)> = upper(c.k as usize).zip(c.custom.iter().copied()).collect();
    c.k = k;
    c.custom = upper(k as usize).map(|cell| kept.iter().find(|(at, _)| *at == cell).map_or(0.5, |(_, v)| *v)).collect();
}

fn spec(c: &AlignmentConfig) -> NashSpec {
    let k = c.k as usize;
    let mut rng = Rng::new(c.seed as u64 ^ 0x9e37_79b9);
    let w: Vec<f64> = (0..k).map(|_| (rng.normal() as f64).exp()).collect();
    let total: f64 = w.iter().sum();
    NashSpec {
        matrix: matrix(c),
        start: w.iter().map(|x| x / total).collect(),
        reference: vec![1.0 / k as f64; k],
        eta: c.eta,
        tau: c.nash_tau,
        iterations: c.iterations,
    }
}

#[derive(PartialEq)]
struct Runs {
    traces: Vec<(NashMethod, NashTrace)>,
    ms: f64,
}

#[component]
pub fn Nash() -> impl IntoView {
    let config = expect_context::<Lab>().config;
    // Only this panel's settings recompute it.
    let settings = Memo::new(move |_| {
        config.with(|c| (c.pref, c.k, c.custom.clone(), c.eta.to_bits(), c.nash_tau.to_bits(), c.iterations, c.seed))
    });
    let runs = Memo::new(move |_| {
        // Read (not only tracked): a memo never read never computes, and would never change.
        settings.with(|_| ());
        let start = now_ms();
        let s = config.with_untracked(spec);
        let traces = NashMethod::ALL.iter().map(|&m| (m, run(m, &s))).collect();
        Runs { traces, ms: now_ms() - start }
    });
    let series = Signal::derive(move || {
        runs.with(|r| {
            r.traces
                .iter()
                .enumerate()
                .map(|(i, (m, t))| {
                    let every = t.exploitability.len().div_ceil(CURVE_POINTS).max(1);
                    Series {
                        name: method(*m).into(),
                        colour: i,
                        points: t
                            .exploitability
                            .iter()
                            .enumerate()
                            .filter(|(it, _)| it % every == 0 || *it == t.exploitability.len() - 1)
                            .map(|(it, &e)| (it as f64, e.max(FLOOR)))
                            .collect(),
                        dashed: false,
                    }
                })
                .collect::<Vec<_>>()
        })
    });
    let custom = Memo::new(move |_| config.with(|c| c.pref == PrefMatrix::Custom));
    let three = Memo::new(move |_| config.with(|c| c.k == 3));
    let tag = Signal::derive(move || config.with(|c| format!("{}-k{}", c.pref.name(), c.k)));
    view! {
        <section class="panel" aria-labelledby="nash-title">
            <h2 id="nash-title">"Nash learning on non-transitive preferences"</h2>
            <p class="hint">
                "When preferences go in circles (rock beats scissors beats paper beats rock) there is no best \
                 response, only a Nash equilibrium: a mixture no other policy is preferred to. Plain self-play \
                 (multiplicative weights against itself) circles around it; Nash-MD (a step against a mixture \
                 with the reference) and EGPO (a look-ahead step first) settle at the last iterate, on the \
                 equilibrium of the game regularised by τ·KL to the uniform reference. Exploitability: \
                 max over π′ of P(π′ ≻ π) − ½."
            </p>
            <div class="controls">
                {choice_field(config, |c| c.pref, |c, v| c.pref = v)}
                {int_field(config, NASH_K, |c| c.k, resize)}
                {float_field(config, NASH_ETA, |c| c.eta, |c, v| c.eta = v)}
                {float_field(config, NASH_TAU, |c| c.nash_tau, |c, v| c.nash_tau = v)}
                {int_field(config, NASH_ITERS, |c| c.iterations, |c, v| c.iterations = v)}
            </div>
            <MatrixEditor custom=custom/>
            <div class="chart-grid">
                <LineChart title="Exploitability" x=Axis { label: "iteration", log: false }
                    y=Axis { label: "exploitability", log: true } series=series file_tag=tag test_id="chart-nash" dense=true/>
                <Show when=move || three.get() fallback=|| view! {
                    <p class="hint">"The simplex plot shows three responses: set K = 3 to see the paths."</p>
                }>
                    <Simplex traces=Signal::derive(move || runs.with(|r| r.traces.iter().map(|(_, t)| t.policies.clone()).collect()))/>
                </Show>
            </div>
            <div class="table-scroll" tabindex="0" role="region" aria-label="Nash results">
                <table class="data nash-table" data-testid="nash-table">
                    <caption>"Where each method ends"</caption>
                    <thead><tr>
                        <th scope="col">"method"</th><th scope="col">"exploitability at the start"</th>
                        <th scope="col">"at the last iterate"</th><th scope="col">"range over the last 20%"</th>
                    </tr></thead>
                    <tbody>
                        {move || runs.with(|r| r.traces.iter().map(|(m, t)| {
                            let e = &t.exploitability;
                            let tail = &e[e.len() * 4 / 5..];
                            let (lo, hi) = tail.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &x| (lo.min(x), hi.max(x)));
                            view! { <tr data-method=format!("{m:?}")>
                                <td>{method(*m)}</td><td>{format!("{:.3e}", e[0])}</td>
                                <td class="last">{format!("{:.3e}", e[e.len() - 1])}</td>
                                <td>{format!("{lo:.2e} … {hi:.2e}")}</td>
                            </tr> }
                        }).collect::<Vec<_>>())}
                    </tbody>
                </table>
            </div>
            <p class="hint" data-testid="nash-time">
                {move || runs.with(|r| format!("Three runs of {} iterations computed in {:.1} ms.", config.with_untracked(|c| c.iterations), r.ms))}
            </p>
        </section>
    }
}

/// The matrix `P(row ≻ column)`: shown for every preset, editable above the diagonal when
/// custom (the cell below is `1 − P`).
#[component]
fn MatrixEditor(custom: Memo<bool>) -> impl IntoView {
    let config = expect_context::<Lab>().config;
    let message = RwSignal::new(None::<String>);
    let m = Memo::new(move |_| config.with(|c| (c.k as usize, matrix(c))));
    let set = move |i: usize, j: usize, text: String| {
        let k = config.with_untracked(|c| c.k as usize);
        match text.trim().parse::<f64>() {
            Ok(v) if (0.0..=1.0).contains(&v) => {
                message.set(None);
                if let Some(index) = upper(k).position(|cell| cell == (i, j)) {
                    config.update(|c| c.custom[index] = v);
                }
            }
            _ => message.set(Some(format!(
                "P({} ≻ {}) = “{}”: must be a number in 0..1; kept {}",
                i + 1,
                j + 1,
                text.trim(),
                format_float(m.with_untracked(|(k, m)| m[i * k + j]))
            ))),
        }
    };
    view! {
        <div class="matrix-editor">
            <div class="table-scroll" tabindex="0" role="region" aria-label="Preference matrix">
                <table class="data pref-matrix" data-testid="pref-matrix">
                    <caption>"P(row ≻ column)"</caption>
                    {move || {
                        let (k, values) = m.get();
                        let editable = custom.get();
                        let head = (0..k).map(|j| view! { <th scope="col">{j + 1}</th> }).collect::<Vec<_>>();
                        let rows = (0..k).map(|i| {
                            let cells = (0..k).map(|j| {
                                let v = values[i * k + j];
                                if editable && j > i {
                                    view! { <td><input type="text" inputmode="decimal" aria-label=format!("P({} ≻ {})", i + 1, j + 1)
                                        value=format_float(v) on:change=move |ev| set(i, j, event_target_value(&ev))/></td> }.into_any()
                                } else {
                                    view! { <td>{format!("{v:.2}")}</td> }.into_any()
                                }
                            }).collect::<Vec<_>>();
                            view! { <tr><th scope="row">{i + 1}</th>{cells}</tr> }
                        }).collect::<Vec<_>>();
                        view! { <thead><tr><th></th>{head}</tr></thead><tbody>{rows}</tbody> }
                    }}
                </table>
            </div>
            <Show when=move || !custom.get()>
                <button type="button" on:click=move |_| config.update(|c| {
                    let k = c.k as usize;
                    let m = matrix(c);
                    c.custom = upper(k).map(|(i, j)| (m[i * k + j] * 1e4).round() / 1e4).collect();
                    c.pref = PrefMatrix::Custom;
                })>"Edit this matrix"</button>
            </Show>
            <p class="control-message" role="status">{move || message.get()}</p>
        </div>
    }
}

/// A ternary plot: each policy over three responses as a point of the triangle.
#[component]
fn Simplex(#[prop(into)] traces: Signal<Vec<Vec<Vec<f64>>>>) -> impl IntoView {
    const W: f64 = 360.0;
    const H: f64 = 290.0;
    let corners = [(W / 2.0, 24.0), (60.0, H - 30.0), (W - 60.0, H - 30.0)];
    // A policy over three responses as a point of the triangle.
    let at = move |pi: &[f64]| {
        let x: f64 = pi.iter().zip(&corners).map(|(p, c)| p * c.0).sum();
        let y: f64 = pi.iter().zip(&corners).map(|(p, c)| p * c.1).sum();
        (x, y)
    };
    let triangle = corners.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect::<Vec<_>>().join(" ");
    let centre = at(&[1.0 / 3.0; 3]);
    view! {
        <figure class="chart simplex" data-testid="simplex">
            <figcaption>"Paths on the simplex (K = 3)"</figcaption>
            <svg viewBox=format!("0 0 {W} {H}") role="img"
                aria-label="The policies of the three methods over the iterations, as points of a triangle whose corners are the three responses">
                <polygon points=triangle fill="none" stroke="currentColor" stroke-opacity="0.5"/>
                {corners.iter().enumerate().map(|(i, &(x, y))| {
                    let dy = if i == 0 { -8.0 } else { 18.0 };
                    view! { <text x=x y=y + dy text-anchor="middle" font-size="12" fill="currentColor">{format!("response {}", i + 1)}</text> }
                }).collect::<Vec<_>>()}
                <circle cx=centre.0 cy=centre.1 r="3" fill="currentColor" fill-opacity="0.5"/>
                {move || traces.get().into_iter().filter(|t| t.first().is_some_and(|p| p.len() == 3)).enumerate().map(|(m, policies)| {
                    let points = policies.iter().map(|p| { let (x, y) = at(p); format!("{x:.1},{y:.1}") }).collect::<Vec<_>>().join(" ");
                    let end = policies.last().map(|p| at(p)).unwrap_or(centre);
                    let start = policies.first().map(|p| at(p)).unwrap_or(centre);
                    view! {
                        <polyline points=points fill="none" stroke=colour(m) stroke-width="1.2" stroke-opacity="0.85"/>
                        <circle cx=start.0 cy=start.1 r="4" fill="none" stroke=colour(m)/>
                        <circle cx=end.0 cy=end.1 r="4" fill=colour(m)/>
                    }
                }).collect::<Vec<_>>()}
            </svg>
            <p class="hint">"Ring: the start; dot: the last iterate; grey dot: the uniform policy. Colours as in the exploitability chart."</p>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_k_keeps_each_custom_cell_where_it_was() {
        let mut c = AlignmentConfig { k: 3, custom: vec![0.9, 0.2, 0.7], ..AlignmentConfig::default() };
        resize(&mut c, 4);
        // P(1≻2), P(1≻3), P(1≻4), P(2≻3), P(2≻4), P(3≻4)
        assert_eq!(c.custom, vec![0.9, 0.2, 0.5, 0.7, 0.5, 0.5]);
        resize(&mut c, 2);
        assert_eq!(c.custom, vec![0.9]);
        let m = matrix(&AlignmentConfig {
            pref: PrefMatrix::Custom,
            k: 3,
            custom: vec![0.9, 0.2, 0.7],
            ..AlignmentConfig::default()
        });
        assert_eq!(m, vec![0.5, 0.9, 0.2, 1.0 - 0.9, 0.5, 0.7, 1.0 - 0.2, 1.0 - 0.7, 0.5]);
    }
}
