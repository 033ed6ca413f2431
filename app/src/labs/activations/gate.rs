//! The gated units over their two inputs: a heatmap of `gate(a, b)` on a diverging colour
//! scale (blue below 0, white at 0, red above), with a readout and exports.

use leptos::{ev, prelude::*};

use super::{spec, Lab};
use crate::{
    components::{
        chart::readout_number,
        controls::{choice_field, float_field},
        export::{csv_number, download_canvas_png, download_text},
        heatmap::{cell_under, interpolate, put_pixels, BROKEN_RGB},
    },
    labs::activations::settings::{Activation, GateChoice, ACT_BETA, ACT_GRANGE},
    state::codec::{format_float, Choice},
};

/// Cells per side: odd, so that a = 0 and b = 0 fall on cells.
const CELLS: usize = 129;

/// ColorBrewer's RdBu (9 classes), blue for negative values: readable by most colour-vision
/// deficiencies and in grey as distance from white.
const RDBU: [[f32; 3]; 9] = [
    [33.0, 102.0, 172.0],
    [67.0, 147.0, 195.0],
    [146.0, 197.0, 222.0],
    [209.0, 229.0, 240.0],
    [247.0, 247.0, 247.0],
    [253.0, 219.0, 199.0],
    [244.0, 165.0, 130.0],
    [214.0, 96.0, 77.0],
    [178.0, 24.0, 43.0],
];

/// Colour of `v` on a scale from `−vmax` (blue) through 0 (white) to `vmax` (red).
pub fn diverging(v: f64, vmax: f64) -> [u8; 3] {
    if !v.is_finite() {
        return BROKEN_RGB;
    }
    interpolate(&RDBU, (v / vmax + 1.0) / 2.0)
}

fn axis(range: f64) -> Vec<f64> {
    (0..CELLS).map(|i| -range + 2.0 * range * i as f64 / (CELLS - 1) as f64).collect()
}

#[component]
pub fn GateMap() -> impl IntoView {
    let config = expect_context::<Lab>().config;
    let canvas_ref = NodeRef::<leptos::html::Canvas>::new();
    let legend_ref = NodeRef::<leptos::html::Canvas>::new();
    let hover = RwSignal::new(None::<(usize, usize)>);
    let message = RwSignal::new(None::<String>);
    // Rows are b from +range (top) to −range; columns are a from −range to +range.
    // Recomputed when the gate or the range changes, not with every other setting.
    let gate = Memo::new(move |_| config.with(|c| (spec::gate(c.gate, c), c.gate_range)));
    let values = Memo::new(move |_| {
        let (g, range) = gate.get();
        let ax = axis(range);
        let mut v = Vec::with_capacity(CELLS * CELLS);
        for r in 0..CELLS {
            let b = ax[CELLS - 1 - r];
            v.extend(ax.iter().map(|&a| g.value(a as f32, b as f32) as f64));
        }
        v
    });
    // The colour scale's top, set when the map is drawn.
    let vmax = RwSignal::new(1.0f64);
    // The map is computed and drawn in a task of its own (a slider moving SwiGLU's β also moves
    // the curves above, in the task of the move); a draw still waiting takes the newest gate.
    let pending = StoredValue::new(false);
    let draw = move || {
        if pending.try_set_value(false).is_some() {
            return;
        }
        let Some(canvas) = canvas_ref.try_get_untracked().flatten() else { return };
        let Some((m, rgba)) = values.try_with_untracked(|v| {
            let m = v.iter().filter(|x| x.is_finite()).fold(0.0f64, |m, x| m.max(x.abs())).max(f64::MIN_POSITIVE);
            let rgba: Vec<u8> = v
                .iter()
                .flat_map(|&x| {
                    let [r, g, b] = diverging(x, m);
                    [r, g, b, 255]
                })
                .collect();
            (m, rgba)
        }) else {
            return;
        };
        put_pixels(&canvas, CELLS, CELLS, &rgba);
        vmax.set(m);
    };
    Effect::new(move |_| {
        gate.track();
        if canvas_ref.get().is_none() || pending.get_value() {
            return;
        }
        pending.set_value(true);
        set_timeout(draw, std::time::Duration::ZERO);
    });
    Effect::new(move |_| {
        if let Some(legend) = legend_ref.get() {
            let rgba: Vec<u8> = (0..256)
                .flat_map(|i| {
                    let [r, g, b] = diverging(i as f64 / 255.0 * 2.0 - 1.0, 1.0);
                    [r, g, b, 255]
                })
                .collect();
            put_pixels(&legend, 256, 1, &rgba);
        }
    });
    let on_move = move |e: ev::PointerEvent| {
        if let Some(cell) = canvas_ref.get_untracked().and_then(|c| cell_under(&c, &e, CELLS, CELLS)) {
            hover.set(Some(cell));
        }
    };
    let on_key = move |e: ev::KeyboardEvent| {
        let (r, c) = hover.get_untracked().unwrap_or((CELLS / 2, CELLS / 2));
        let next = match e.key().as_str() {
            "ArrowUp" => (r.saturating_sub(1), c),
            "ArrowDown" => ((r + 1).min(CELLS - 1), c),
            "ArrowLeft" => (r, c.saturating_sub(1)),
            "ArrowRight" => (r, (c + 1).min(CELLS - 1)),
            _ => return,
        };
        e.prevent_default();
        hover.set(Some(next));
    };
    let readout = move || {
        let (r, c) = hover.get()?;
        let ax = config.with(|c| axis(c.gate_range));
        let v = values.with(|v| v[r * CELLS + c]);
        Some(format!("a = {}, b = {}: {}", readout_number(ax[c]), readout_number(ax[CELLS - 1 - r]), readout_number(v)))
    };
    let stem = move || {
        config.with_untracked(|c| {
            let beta = if c.gate == GateChoice::SwiGlu {
                format!("-beta{}", format_float(c.silu_beta))
            } else {
                String::new()
            };
            format!("{}{beta}-range{}", c.gate.name(), format_float(c.gate_range))
        })
    };
    let export_png = move |_| match canvas_ref.get_untracked() {
        Some(canvas) => message.set(download_canvas_png(&canvas, &format!("{}.png", stem())).err()),
        None => message.set(Some("the heatmap is not drawn yet".into())),
    };
    let export_csv = move |_| {
        let ax = config.with_untracked(|c| axis(c.gate_range));
        let mut out = String::from("b \\ a");
        for a in &ax {
            out.push(',');
            out.push_str(&csv_number(*a));
        }
        out.push('\n');
        values.with_untracked(|v| {
            for r in 0..CELLS {
                out.push_str(&csv_number(ax[CELLS - 1 - r]));
                for c in 0..CELLS {
                    out.push(',');
                    out.push_str(&csv_number(v[r * CELLS + c]));
                }
                out.push('\n');
            }
        });
        message.set(download_text(&out, "text/csv", &format!("{}.csv", stem())).err());
    };
    // SwiGLU's β has its control here only when SiLU's is not shown above.
    let beta_here =
        Memo::new(move |_| config.with(|c| !c.shown.contains(&Activation::Silu) && c.gate == GateChoice::SwiGlu));
    view! {
        <section class="panel" aria-labelledby="gate-title">
            <h2 id="gate-title">"Gated units over their two inputs"</h2>
            <p class="hint">
                "A gated feed-forward layer projects to twice its width and splits the result into a and b; \
                 the unit passes on act(a)·b. Along b = 1 the map is the activation itself; the sign of b \
                 flips it, so the unit's output is negative in two quadrants and grows without bound in both \
                 directions — a product that no elementwise function gives."
            </p>
            <div class="controls">
                {choice_field(config, |c| c.gate, |c, v| c.gate = v)}
                {float_field(config, ACT_GRANGE, |c| c.gate_range, |c, v| c.gate_range = v)}
                {move || beta_here.get().then(|| view! {
                    {float_field(config, ACT_BETA, |c| c.silu_beta, |c, v| c.silu_beta = v)}
                })}
            </div>
            <div class="gate-map" data-testid="gate-map">
                <div class="gate-axes">
                    <span class="gate-b">{move || format!("b (up): −{0} … {0}", format_float(config.with(|c| c.gate_range)))}</span>
                    <canvas
                        node_ref=canvas_ref
                        class="heatmap-canvas gate-canvas"
                        tabindex="0"
                        role="img"
                        aria-label=move || format!("{} over a and b", config.with(|c| c.gate.label()))
                        aria-describedby="gate-readout"
                        on:pointermove=on_move
                        on:keydown=on_key
                    ></canvas>
                    <span class="gate-a">{move || format!("a (right): −{0} … {0}", format_float(config.with(|c| c.gate_range)))}</span>
                </div>
                <div class="legend-bar">
                    <canvas node_ref=legend_ref class="legend-canvas"></canvas>
                    <div class="legend-labels">
                        <span>{move || readout_number(-vmax.get())}</span>
                        <span>"0"</span>
                        <span>{move || readout_number(vmax.get())}</span>
                    </div>
                </div>
            </div>
            <p class="readout" id="gate-readout" aria-live="polite" data-testid="gate-readout">
                {move || readout().unwrap_or_else(|| "Point at the map (or focus it and use the arrow keys) to read a value.".into())}
            </p>
            <div class="export">
                <span>"Export:"</span>
                <button type="button" on:click=export_png>"PNG"</button>
                <button type="button" on:click=export_csv>"CSV"</button>
                <span role="status">{move || message.get()}</span>
            </div>
        </section>
    }
}
