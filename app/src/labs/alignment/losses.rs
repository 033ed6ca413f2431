//! Loss curves: `L(h)` and the gradient weight `w(h) = −dL/dh` of the chosen losses, with
//! their parameters, the margins worth marking and their formulas (`content/alignment.toml`).

use leptos::prelude::*;
use softplay_kernels::alignment::losses::{curve, marked_margin, LossKind, LossParams};

use super::{
    content::{loss, Loss},
    now_ms, Lab,
};
use crate::{
    components::{
        chart::{Axis, LineChart, Marker, Series},
        controls::{float_field, ListPicker},
    },
    labs::alignment::settings::{
        AlignmentConfig, AlignmentLoss, ALIGN_BETA, ALIGN_CURVES_MAX, ALIGN_EPS, ALIGN_GAMMA, ALIGN_HMAX, ALIGN_LAMBDA,
        ALIGN_LEN_L, ALIGN_LEN_W, ALIGN_SBETA, ALIGN_TAU, ALIGN_Z0,
    },
    state::codec::{format_float, Choice},
};

/// Points per curve.
const POINTS: usize = 801;

/// The kernels' loss of a setting.
pub fn kernel_loss(c: AlignmentLoss) -> LossKind {
    match c {
        AlignmentLoss::Dpo => LossKind::Dpo,
        AlignmentLoss::Cdpo => LossKind::Cdpo,
        AlignmentLoss::RobustDpo => LossKind::RobustDpo,
        AlignmentLoss::Ipo => LossKind::Ipo,
        AlignmentLoss::Hinge => LossKind::Hinge,
        AlignmentLoss::Simpo => LossKind::Simpo,
        AlignmentLoss::Orpo => LossKind::Orpo,
        AlignmentLoss::Kto => LossKind::Kto,
    }
}

/// The kernels' parameters from the lab's settings.
pub fn loss_params(c: &AlignmentConfig) -> LossParams {
    LossParams {
        beta: c.beta,
        eps: c.eps,
        tau: c.tau,
        simpo_beta: c.simpo_beta,
        gamma: c.gamma,
        len_chosen: c.len_w,
        len_rejected: c.len_l,
        lambda: c.lambda,
        z0: c.z0,
        ..LossParams::default()
    }
}

/// Every curve: `(name, colour, L points, w points)`; KTO gives two (desirable, undesirable).
/// A curve's name, colour, `L` points and `w` points.
type Curve = (String, usize, Vec<(f64, f64)>, Vec<(f64, f64)>);

fn curves(c: &AlignmentConfig) -> Vec<Curve> {
    let p = loss_params(c);
    let hs: Vec<f64> = (0..POINTS).map(|i| -c.hmax + 2.0 * c.hmax * i as f64 / (POINTS - 1) as f64).collect();
    let mut out = Vec::new();
    for (i, &loss) in c.curves.iter().enumerate() {
        let sides: &[(bool, &str)] = if loss == AlignmentLoss::Kto {
            &[(true, " (desirable)"), (false, " (undesirable)")]
        } else {
            &[(true, "")]
        };
        for &(desirable, suffix) in sides {
            let values: Vec<_> = hs.iter().map(|&h| (h, curve(kernel_loss(loss), &p, h, desirable))).collect();
            let colour = if desirable { i } else { i + 8 };
            out.push((
                format!("{}{suffix}", loss.label()),
                colour,
                values.iter().map(|(h, v)| (*h, v.loss)).collect(),
                values.iter().map(|(h, v)| (*h, v.weight)).collect(),
            ));
        }
    }
    out
}

/// Colours by loss; KTO's undesirable side and a seventh or eighth loss are dashed.
fn series(name: String, colour: usize, points: Vec<(f64, f64)>) -> Series {
    Series { name, colour: colour % 8, points, dashed: colour >= 6 }
}

#[component]
pub fn LossCurves() -> impl IntoView {
    let config = expect_context::<Lab>().config;
    let ms = RwSignal::new(0.0);
    let computed = Memo::new(move |_| {
        let start = now_ms();
        let all = config.with(curves);
        ms.set(now_ms() - start);
        all
    });
    let pick = move |which: usize| {
        Signal::derive(move || {
            computed.with(|all| {
                all.iter()
                    .map(|(name, colour, l, w)| {
                        series(name.clone(), *colour, if which == 0 { l.clone() } else { w.clone() })
                    })
                    .collect::<Vec<_>>()
            })
        })
    };
    // The marked margins (colour, label, h) and the range; those at or past its edge are
    // named below the charts instead, so that none disappears silently.
    let marks = Memo::new(move |_| {
        config.with(|c| {
            let p = loss_params(c);
            let all: Vec<(usize, String, f64)> = c
                .curves
                .iter()
                .enumerate()
                .filter_map(|(i, &l)| {
                    marked_margin(kernel_loss(l), &p).map(|(label, x)| (i, format!("{label} h = {}", short(x)), x))
                })
                .collect();
            (all, c.hmax)
        })
    });
    let markers = Signal::derive(move || {
        marks.with(|(all, hmax)| {
            all.iter()
                .filter(|(_, _, x)| x.abs() < *hmax)
                .map(|(i, label, x)| Marker { x: *x, label: label.clone(), colour: i % 8 })
                .collect::<Vec<_>>()
        })
    });
    let outside = Memo::new(move |_| {
        marks.with(|(all, hmax)| {
            let far: Vec<&str> = all.iter().filter(|(_, _, x)| x.abs() >= *hmax).map(|(_, l, _)| l.as_str()).collect();
            (!far.is_empty()).then(|| format!("At or beyond the edge of ±{}: {}.", format_float(*hmax), far.join("; ")))
        })
    });
    let tag = Signal::derive(move || config.with(|c| format!("beta{}", format_float(c.beta))));
    let x_axis = Axis { label: "margin h", log: false };
    view! {
        <section class="panel" aria-labelledby="losses-title">
            <h2 id="losses-title">"Losses and their gradient weights"</h2>
            <div class="chart-grid">
                <LineChart title="Loss L(h)" x=x_axis y=Axis { label: "L(h)", log: false } series=pick(0)
                    markers=markers file_tag=tag test_id="chart-loss" dense=true/>
                <LineChart title="Gradient weight w(h) = −dL/dh" x=x_axis y=Axis { label: "w(h)", log: false }
                    series=pick(1) markers=markers file_tag=tag test_id="chart-weight" dense=true/>
            </div>
            <p class="hint">
                "Each loss as a function of the margin h — how far the policy prefers the chosen response over \
                 the rejected one, relative to the reference — and its gradient weight w(h) = −dL/dh: how hard a \
                 pair at that margin still pushes. DPO never stops pushing; cDPO pushes back past its \
                 zero-gradient point; IPO pulls every pair to one target margin; the hinge stops at 1/β."
            </p>
            <p class="hint" data-testid="marks-outside">{move || outside.get()}</p>
            <p class="hint" data-testid="losses-time">
                {move || format!("{} curves of {POINTS} points computed in {:.1} ms.", computed.with(Vec::len), ms.get())}
            </p>
            <dl class="formulas loss-formulas" data-testid="loss-formulas">
                {move || config.with(|c| c.curves.clone()).into_iter().map(|l| {
                    let Loss { formula, paper } = loss(l);
                    view! {
                        <dt>{l.label()}</dt>
                        <dd><div class="formula" tabindex="0" role="region" aria-label=format!("Formula of {}", l.label()) inner_html=formula></div><span class="paper">{paper}</span></dd>
                    }
                }).collect::<Vec<_>>()}
            </dl>
        </section>
    }
}

/// The loss panel's settings (also the toy's β, ε, τ, γ and λ), for the controls column: a
/// parameter is shown while a curve or the toy's loss reads it.
#[component]
pub fn LossSettings() -> impl IntoView {
    let config = expect_context::<Lab>().config;
    let shown = move |losses: &'static [AlignmentLoss]| {
        Memo::new(move |_| config.with(|c| losses.contains(&c.loss) || c.curves.iter().any(|l| losses.contains(l))))
    };
    let beta_shown = shown(&[
        AlignmentLoss::Dpo,
        AlignmentLoss::Cdpo,
        AlignmentLoss::RobustDpo,
        AlignmentLoss::Hinge,
        AlignmentLoss::Kto,
    ]);
    let eps_shown = shown(&[AlignmentLoss::Cdpo, AlignmentLoss::RobustDpo]);
    let tau_shown = shown(&[AlignmentLoss::Ipo]);
    let simpo_shown = shown(&[AlignmentLoss::Simpo]);
    let orpo_shown = shown(&[AlignmentLoss::Orpo]);
    let kto_shown = shown(&[AlignmentLoss::Kto]);
    view! {
            <ListPicker
                legend=format!("Losses (1 to {ALIGN_CURVES_MAX})")
                id_prefix="loss"
                key=crate::labs::alignment::settings::ALIGN_CURVES_KEY
                noun_one="loss"
                noun="losses"
                min=1
                max=ALIGN_CURVES_MAX
                value=Signal::derive(move || config.with(|c| c.curves.clone()))
                on_change=Callback::new(move |v| config.update(|c| c.curves = v))
                test_id="loss-picker"
            />
            {float_field(config, ALIGN_HMAX, |c| c.hmax, |c, v| c.hmax = v)}
            <Show when=move || beta_shown.get()>{float_field(config, ALIGN_BETA, |c| c.beta, |c, v| c.beta = v)}</Show>
            <Show when=move || eps_shown.get()>{float_field(config, ALIGN_EPS, |c| c.eps, |c, v| c.eps = v)}</Show>
            <Show when=move || tau_shown.get()>{float_field(config, ALIGN_TAU, |c| c.tau, |c, v| c.tau = v)}</Show>
            <Show when=move || simpo_shown.get()>
                {float_field(config, ALIGN_SBETA, |c| c.simpo_beta, |c, v| c.simpo_beta = v)}
                {float_field(config, ALIGN_GAMMA, |c| c.gamma, |c, v| c.gamma = v)}
                {float_field(config, ALIGN_LEN_W, |c| c.len_w, |c, v| c.len_w = v)}
                {float_field(config, ALIGN_LEN_L, |c| c.len_l, |c, v| c.len_l = v)}
            </Show>
            <Show when=move || orpo_shown.get()>{float_field(config, ALIGN_LAMBDA, |c| c.lambda, |c, v| c.lambda = v)}</Show>
            <Show when=move || kto_shown.get()>{float_field(config, ALIGN_Z0, |c| c.z0, |c, v| c.z0 = v)}</Show>
    }
}

fn short(x: f64) -> String {
    if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}
