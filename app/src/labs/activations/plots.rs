//! The functions and their derivatives, and their parameters (sliders; the KAN spline by
//! dragging its control points).

use std::sync::Arc;

use leptos::{ev, prelude::*};
use softplay_kernels::activation::{kan_bases, KAN_BASES};

use super::{
    content::{function, Function},
    spec, Lab,
};
use crate::{
    components::{
        chart::{Axis, LineChart, Series},
        controls::FloatControl,
    },
    labs::activations::settings::{
        Activation, ActivationsConfig, Coefficients, ACT_BETA, ACT_ELU, ACT_EPS, ACT_FNS_MAX, ACT_KAN_C, ACT_KAN_WB,
        ACT_KAN_WS, ACT_LEAKY, ACT_POLYNORM, ACT_POLYRELU, ACT_RATIONAL_P, ACT_RATIONAL_Q, ACT_SP_BETA,
    },
    state::codec::{format_float, Choice, FloatParam},
};

/// Points per plotted curve.
const POINTS: usize = 401;

/// A series' style: six colours, then the same colours dashed.
pub fn styled(index: usize, name: String, points: Vec<(f64, f64)>) -> Series {
    Series { name, colour: index, points, dashed: index >= 6 }
}

fn xs(xmax: f64) -> Vec<f64> {
    (0..POINTS).map(|i| -xmax + 2.0 * xmax * i as f64 / (POINTS - 1) as f64).collect()
}

/// One chart per order (f, f′, and f″ when asked), every shown function on each.
#[component]
pub fn Curves() -> impl IntoView {
    let config = expect_context::<Lab>().config;
    // Kept per function, parameters and range: moving one parameter recomputes one curve.
    let cache = StoredValue::new(Vec::<(String, Arc<Vec<[f64; 3]>>)>::new());
    let curves = Memo::new(move |_| {
        config.with(|c| {
            let x = xs(c.xmax);
            c.shown
                .iter()
                .map(|&a| {
                    let key = format!("{a:?} {:?} {:?} {} {}", spec::kernel(a, c), c.poly_norm, c.xmax, c.second);
                    let held = cache.with_value(|cache| cache.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone()));
                    let values = held.unwrap_or_else(|| {
                        let values = Arc::new(spec::curves(a, c, &x, c.second));
                        cache.update_value(|cache| {
                            if cache.len() >= 2 * ACT_FNS_MAX {
                                cache.remove(0);
                            }
                            cache.push((key, values.clone()));
                        });
                        values
                    });
                    (a, values)
                })
                .collect::<Vec<_>>()
        })
    });
    let series = move |order: usize| {
        Signal::derive(move || {
            let x = config.with(|c| xs(c.xmax));
            curves.with(|all| {
                all.iter()
                    .enumerate()
                    .map(|(i, (a, values))| {
                        let points = x.iter().zip(values.iter()).map(|(&x, v)| (x, v[order])).collect();
                        styled(i, a.label().to_string(), points)
                    })
                    .collect::<Vec<_>>()
            })
        })
    };
    let tag = Signal::derive(move || config.with(|c| format!("x{}", format_float(c.xmax))));
    let second = Memo::new(move |_| config.with(|c| c.second));
    // A y range that keeps the interesting band: a curve far beyond the others (PolyReLU's cubic)
    // would flatten them into one line; it is clipped, and named, unless the person asks for
    // every curve whole.
    let whole = RwSignal::new(false);
    let band = move |order: usize| {
        Memo::new(move |_| {
            if whole.get() {
                return None;
            }
            curves.with(|all| {
                let values: Vec<Vec<f64>> = all.iter().map(|(_, v)| v.iter().map(|p| p[order]).collect()).collect();
                spec::readable_band(&values)
                    .map(|(range, out)| (range, out.into_iter().map(|i| all[i].0).collect::<Vec<_>>()))
            })
        })
    };
    let (band_f, band_df, band_d2f) = (band(0), band(1), band(2));
    let range_of = move |b: Memo<Option<Band>>| Signal::derive(move || b.with(|b| b.as_ref().map(|b| b.0)));
    let clipped = move || {
        let mut names: Vec<&'static str> = Vec::new();
        for b in [band_f, band_df, band_d2f] {
            for a in b.get().map(|b| b.1).unwrap_or_default() {
                if !names.contains(&a.label()) {
                    names.push(a.label());
                }
            }
        }
        names
    };
    let x_axis = Axis { label: "x", log: false };
    view! {
        <section class="panel" aria-labelledby="curves-title">
            <h2 id="curves-title">"Functions and derivatives"</h2>
            <div class="chart-grid">
                <LineChart title="f(x)" x=x_axis y=Axis { label: "f(x)", log: false } series=series(0)
                    file_tag=tag test_id="chart-f" dense=true y_range=range_of(band_f)/>
                <LineChart title="f′(x)" x=x_axis y=Axis { label: "f′(x)", log: false } series=series(1)
                    file_tag=tag test_id="chart-df" dense=true y_range=range_of(band_df)/>
                {move || second.get().then(|| view! {
                    <LineChart title="f″(x)" x=x_axis y=Axis { label: "f″(x)", log: false } series=series(2)
                        file_tag=tag test_id="chart-d2f" dense=true y_range=range_of(band_d2f)/>
                })}
            </div>
            <div class="y-band">
                <p class="hint" data-testid="y-band">
                    {move || {
                        let names = clipped();
                        (!names.is_empty()).then(|| format!(
                            "{} reach{} far beyond the others here: the y axes keep the others readable and clip {}.",
                            names.join(", "),
                            if names.len() == 1 { "es" } else { "" },
                            if names.len() == 1 { "it" } else { "them" },
                        ))
                    }}
                </p>
                <label class="control-flag">
                    <input type="checkbox" prop:checked=move || whole.get()
                        on:change=move |ev| whole.set(event_target_checked(&ev))/>
                    "Show every curve whole"
                </label>
            </div>
            <p class="hint">
                "Each function as the kernels compute it (in float64), with its slope. PolyNorm works on a \
                 whole row of hidden values, not one value: it is drawn for the row of plotted x values, and \
                 its slopes are the diagonal of its Jacobian for that row."
            </p>
            <dl class="formulas" data-testid="formulas">
                {move || config.with(|c| c.shown.clone()).into_iter().map(|a| {
                    let Function { formula, paper, .. } = function(a);
                    let source = paper.map(|p| format!(" — {p}")).unwrap_or_default();
                    view! { <dt>{a.label()}</dt><dd>{formula}<span class="paper">{source}</span></dd> }
                }).collect::<Vec<_>>()}
            </dl>
        </section>
    }
}

/// A y range and the functions whose curves leave it.
type Band = ((f64, f64), Vec<Activation>);

/// The functions with parameters to set (each has its `parameters` hint in the content file).
const HAS_PARAMETERS: [Activation; 9] = [
    Activation::LeakyRelu,
    Activation::Elu,
    Activation::Silu,
    Activation::Softplus,
    Activation::CrRelu,
    Activation::PolyRelu,
    Activation::PolyNorm,
    Activation::Rational,
    Activation::Kan,
];

fn float_control(
    config: RwSignal<ActivationsConfig>,
    param: FloatParam,
    get: fn(&ActivationsConfig) -> f64,
    set: fn(&mut ActivationsConfig, f64),
) -> impl IntoView {
    view! {
        <FloatControl
            param=param
            value=Signal::derive(move || config.with(get))
            on_change=Callback::new(move |v| config.update(|c| set(c, v)))
        />
    }
}

fn coefficient_controls(
    config: RwSignal<ActivationsConfig>,
    group: &'static Coefficients,
    get: fn(&ActivationsConfig) -> &Vec<f64>,
    set: fn(&mut ActivationsConfig) -> &mut Vec<f64>,
) -> impl IntoView {
    group
        .params
        .iter()
        .enumerate()
        .map(|(i, &param)| {
            view! {
                <FloatControl
                    param=param
                    value=Signal::derive(move || config.with(|c| get(c)[i]))
                    on_change=Callback::new(move |v| config.update(|c| set(c)[i] = v))
                />
            }
        })
        .collect::<Vec<_>>()
}

/// The parameters of the functions on screen, one group per function.
#[component]
pub fn Parameters() -> impl IntoView {
    let config = expect_context::<Lab>().config;
    // Rebuilt only when the function is shown or hidden, not on every change of a setting (a
    // control keeps its message and focus while its value moves).
    let group = move |a: Activation, body: fn(RwSignal<ActivationsConfig>) -> AnyView| {
        let shown = Memo::new(move |_| config.with(|c| c.shown.contains(&a)));
        let hint = function(a).parameters.unwrap_or_default();
        move || {
            shown.get().then(|| {
                view! {
                    <div class="param-group">
                        <h3>{a.label()}</h3>
                        <p class="hint">{hint}</p>
                        {body(config)}
                    </div>
                }
            })
        }
    };
    let no_parameters = Memo::new(move |_| config.with(|c| c.shown.iter().all(|a| !HAS_PARAMETERS.contains(a))));
    view! {
        {move || no_parameters.get().then(|| view! {
            <p class="hint">"None of the functions shown has a parameter to set."</p>
        })}
        {group(Activation::LeakyRelu, |c| {
            float_control(c, ACT_LEAKY, |c| c.leaky_alpha, |c, v| c.leaky_alpha = v).into_any()
        })}
        {group(Activation::Elu, |c| {
            float_control(c, ACT_ELU, |c| c.elu_alpha, |c, v| c.elu_alpha = v).into_any()
        })}
        {group(Activation::Silu, |c| {
            float_control(c, ACT_BETA, |c| c.silu_beta, |c, v| c.silu_beta = v).into_any()
        })}
        {group(Activation::Softplus, |c| {
            float_control(c, ACT_SP_BETA, |c| c.softplus_beta, |c, v| c.softplus_beta = v).into_any()
        })}
        {group(Activation::CrRelu, |c| {
            float_control(c, ACT_EPS, |c| c.crrelu_eps, |c, v| c.crrelu_eps = v).into_any()
        })}
        {group(Activation::PolyRelu, |c| {
            coefficient_controls(c, &ACT_POLYRELU, |c| &c.poly_relu, |c| &mut c.poly_relu).into_any()
        })}
        {group(Activation::PolyNorm, |c| {
            coefficient_controls(c, &ACT_POLYNORM, |c| &c.poly_norm, |c| &mut c.poly_norm).into_any()
        })}
        {group(Activation::Rational, |c| {
            view! {
                {coefficient_controls(c, &ACT_RATIONAL_P, |c| &c.rational_p, |c| &mut c.rational_p)}
                {coefficient_controls(c, &ACT_RATIONAL_Q, |c| &c.rational_q, |c| &mut c.rational_q)}
            }
            .into_any()
        })}
        {group(Activation::Kan, |c| {
            view! {
                {float_control(c, ACT_KAN_WB, |c| c.kan_wb, |c, v| c.kan_wb = v)}
                {float_control(c, ACT_KAN_WS, |c| c.kan_ws, |c, v| c.kan_ws = v)}
                <KanEditor/>
            }
            .into_any()
        })}
    }
}

// The spline editor's drawing: x over the bases' support, y over the coefficients' range.
const KW: f64 = 560.0;
const KH: f64 = 220.0;
const KPAD: f64 = 28.0;
const KX: f64 = 2.2;

fn kx(x: f64) -> f64 {
    KPAD + (x + KX) / (2.0 * KX) * (KW - 2.0 * KPAD)
}

fn ky(y: f64) -> f64 {
    let limit = ACT_KAN_C.limit;
    KPAD + (limit - y) / (2.0 * limit) * (KH - 2.0 * KPAD)
}

/// Where basis `i` peaks (its Greville abscissa): the control point's x.
fn greville(i: usize) -> f64 {
    -1.0 + (i as f64 - 1.0) * 0.4
}

/// The spline part `Σ cᵢ Bᵢ(x)` with its control polygon; each point drags up and down (or
/// moves with the arrow keys, 0.05 a press) to set its coefficient.
#[component]
fn KanEditor() -> impl IntoView {
    let config = expect_context::<Lab>().config;
    let svg_ref = NodeRef::<leptos::svg::Svg>::new();
    let dragging = RwSignal::new(None::<usize>);
    let limit = ACT_KAN_C.limit;
    let set_c = move |i: usize, v: f64| {
        let v = (v.clamp(-limit, limit) * 100.0).round() / 100.0;
        config.update(|c| c.kan_c[i] = v);
    };
    let y_at = move |client_y: f64| -> Option<f64> {
        let rect = svg_ref.get_untracked()?.get_bounding_client_rect();
        (rect.height() > 0.0).then(|| {
            let py = (client_y - rect.top()) / rect.height() * KH;
            limit - (py - KPAD) / (KH - 2.0 * KPAD) * 2.0 * limit
        })
    };
    let on_move = move |e: ev::PointerEvent| {
        if let (Some(i), Some(v)) = (dragging.get_untracked(), y_at(e.client_y() as f64)) {
            set_c(i, v);
        }
    };
    let curve = move || {
        let c = config.with(|c| c.kan_c.clone());
        (0..=220)
            .map(|k| {
                let x = -KX + 2.0 * KX * k as f64 / 220.0;
                let (b, _) = kan_bases(x);
                let y: f64 = b.iter().zip(&c).map(|(b, c)| b * c).sum();
                format!("{}{:.1},{:.1}", if k == 0 { "M" } else { "L" }, kx(x), ky(y))
            })
            .collect::<String>()
    };
    let polygon = move || {
        config.with(|c| {
            (0..KAN_BASES)
                .map(|i| format!("{:.1},{:.1}", kx(greville(i)), ky(c.kan_c[i])))
                .collect::<Vec<_>>()
                .join(" ")
        })
    };
    let points = (0..KAN_BASES)
        .map(|i| {
            let value = move || config.with(|c| c.kan_c[i]);
            view! {
                <circle
                    class="kan-point"
                    data-index=i
                    cx=kx(greville(i))
                    cy=move || ky(value())
                    r="7"
                    tabindex="0"
                    role="slider"
                    aria-label=format!("KAN c{i}")
                    aria-valuemin=-limit
                    aria-valuemax=limit
                    aria-valuenow=move || format_float(value())
                    on:pointerdown=move |e: ev::PointerEvent| {
                        e.prevent_default();
                        if let Some(svg) = svg_ref.get_untracked() {
                            let _ = svg.set_pointer_capture(e.pointer_id());
                        }
                        dragging.set(Some(i));
                    }
                    on:keydown=move |e: ev::KeyboardEvent| {
                        let step = match e.key().as_str() {
                            "ArrowUp" | "ArrowRight" => 0.05,
                            "ArrowDown" | "ArrowLeft" => -0.05,
                            _ => return,
                        };
                        e.prevent_default();
                        set_c(i, value() + step);
                    }
                />
            }
        })
        .collect::<Vec<_>>();
    view! {
        <figure class="chart kan-editor" data-testid="kan-editor">
            <figcaption>"KAN spline part Σ cᵢBᵢ(x): drag a point (or focus it and use the arrow keys)"</figcaption>
            <svg
                node_ref=svg_ref
                viewBox=format!("0 0 {KW} {KH}")
                role="group"
                aria-label="KAN spline coefficients"
                on:pointermove=on_move
                on:pointerup=move |_| dragging.set(None)
                on:pointercancel=move |_| dragging.set(None)
            >
                <line x1=KPAD x2=KW - KPAD y1=ky(0.0) y2=ky(0.0) stroke="currentColor" stroke-opacity="0.3"/>
                <line x1=kx(-1.0) x2=kx(-1.0) y1=KPAD y2=KH - KPAD stroke="currentColor" stroke-opacity="0.15"/>
                <line x1=kx(1.0) x2=kx(1.0) y1=KPAD y2=KH - KPAD stroke="currentColor" stroke-opacity="0.15"/>
                <text x=kx(-1.0) y=KH - 8.0 text-anchor="middle" font-size="11" fill="currentColor">"−1"</text>
                <text x=kx(1.0) y=KH - 8.0 text-anchor="middle" font-size="11" fill="currentColor">"1"</text>
                <text x=KPAD - 4.0 y=ky(limit) + 4.0 text-anchor="end" font-size="11" fill="currentColor">{format_float(limit)}</text>
                <text x=KPAD - 4.0 y=ky(-limit) + 4.0 text-anchor="end" font-size="11" fill="currentColor">{format_float(-limit)}</text>
                <polyline points=polygon fill="none" stroke="currentColor" stroke-opacity="0.45" stroke-dasharray="4 3"/>
                <path d=curve fill="none" stroke="#0072b2" stroke-width="2.5"/>
                {points}
            </svg>
            <p class="readout">
                {move || config.with(|c| format!(
                    "c = ({})",
                    c.kan_c.iter().map(|&v| format_float(v)).collect::<Vec<_>>().join(", ")
                ))}
            </p>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_the_functions_with_parameters_have_a_parameters_hint() {
        for &a in Activation::ALL {
            assert_eq!(function(a).parameters.is_some(), HAS_PARAMETERS.contains(&a), "{a:?}");
        }
    }
}
