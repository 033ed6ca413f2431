//! A heatmap on a canvas (one pixel per cell, scaled by CSS; never one element per cell), with
//! a hover readout, a colour legend, a linear or logarithmic colour scale, a strip of per-row
//! statistics beside it, and exports (PNG, CSV).

use std::sync::Arc;

use leptos::{ev, prelude::*};
use wasm_bindgen::{Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};

use super::{
    chart::{colour, readout_number, short_number},
    export::{csv_number32, download_canvas_png, download_text},
};

/// Per-row statistics shown in the strip, in this order.
pub const ROW_STATS: [(&str, &str); 5] = [
    ("H", "entropy (nats)"),
    ("max", "largest weight"),
    ("k₀", "sink: weight on key 0"),
    ("Σ", "row sum"),
    ("#", "support: keys above a uniform share"),
];

/// What a heatmap shows: `rows × cols` values (row-major), how many columns of each row are
/// visible (the rest are masked), and per-row statistics.
#[derive(Clone, Debug, PartialEq)]
pub struct HeatmapData {
    pub rows: usize,
    pub cols: usize,
    pub values: Vec<f32>,
    pub visible: Vec<usize>,
    pub row_stats: Vec<[f32; 5]>,
    /// A cell to outline (the needle).
    pub mark: Option<(usize, usize)>,
}

/// Decades shown by the logarithmic colour scale.
pub const LOG_DECADES: f64 = 6.0;

/// Viridis (van der Walt & Smith), sampled at nine points and interpolated: perceptually
/// uniform and readable in grey.
const VIRIDIS: [[f32; 3]; 9] = [
    [68.0, 1.0, 84.0],
    [71.0, 44.0, 122.0],
    [59.0, 81.0, 139.0],
    [44.0, 113.0, 142.0],
    [33.0, 144.0, 141.0],
    [39.0, 173.0, 129.0],
    [92.0, 200.0, 99.0],
    [170.0, 220.0, 50.0],
    [253.0, 231.0, 37.0],
];

/// Colour of NaN and infinite cells: outside the colour map, so a broken value stands out.
pub const BROKEN_RGB: [u8; 3] = [255, 0, 160];

pub fn viridis(t: f64) -> [u8; 3] {
    interpolate(&VIRIDIS, t)
}

/// The colour at `t` in 0..=1 of a colour map sampled at evenly spaced points, linearly
/// between them (a non-finite `t` takes the first colour).
pub fn interpolate(map: &[[f32; 3]], t: f64) -> [u8; 3] {
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    let x = t * (map.len() - 1) as f64;
    let i = (x.floor() as usize).min(map.len() - 2);
    let f = (x - i as f64) as f32;
    let (a, b) = (map[i], map[i + 1]);
    std::array::from_fn(|c| (a[c] + (b[c] - a[c]) * f).round() as u8)
}

/// The `(row, column)` of a `rows × cols` canvas under the pointer, if any.
pub fn cell_under(
    canvas: &HtmlCanvasElement,
    ev: &ev::PointerEvent,
    rows: usize,
    cols: usize,
) -> Option<(usize, usize)> {
    let rect = canvas.get_bounding_client_rect();
    if rect.width() <= 0.0 || rect.height() <= 0.0 {
        return None;
    }
    let c = ((ev.client_x() as f64 - rect.left()) / rect.width() * cols as f64).floor();
    let r = ((ev.client_y() as f64 - rect.top()) / rect.height() * rows as f64).floor();
    (c >= 0.0 && r >= 0.0 && (c as usize) < cols && (r as usize) < rows).then_some((r as usize, c as usize))
}

/// Where a value falls on the colour scale, 0..=1, given the largest value shown: the
/// definition that `colour_steps` implements with a search.
#[cfg(test)]
fn colour_position(v: f32, vmax: f32, log: bool) -> f64 {
    let (v, vmax) = (v as f64, vmax as f64);
    if log {
        if v <= 0.0 {
            return 0.0;
        }
        ((v / vmax).log10() + LOG_DECADES) / LOG_DECADES
    } else {
        v / vmax
    }
}

/// The largest finite value (1 if there is none above 0), the top of the colour scale.
pub fn value_max(values: &[f32]) -> f32 {
    top_and_broken(values).0
}

/// [`value_max`] and the count of NaN and infinite values, in one pass (a heatmap at n = 512
/// has 262,144 of them, redrawn at every frame of a drag).
pub fn top_and_broken(values: &[f32]) -> (f32, usize) {
    let (mut m, mut broken) = (0.0f32, 0usize);
    for &v in values {
        if v.is_finite() {
            if v > m {
                m = v;
            }
        } else {
            broken += 1;
        }
    }
    (if m > 0.0 { m } else { 1.0 }, broken)
}

/// The values where the colour index steps from `k` to `k + 1` (255 of them, increasing):
/// a cell's colour is found by a binary search, with no logarithm per cell.
fn colour_steps(vmax: f32, log: bool) -> Vec<f32> {
    (1..256)
        .map(|k| {
            let pos = (k as f64 - 0.5) / 255.0;
            let v = if log { vmax as f64 * 10f64.powf((pos - 1.0) * LOG_DECADES) } else { pos * vmax as f64 };
            v as f32
        })
        .collect()
}

/// A value's colour index (0..=255) without a logarithm per cell: linear is one multiply; for
/// the log scale a table is keyed by a value's exponent and top 8 mantissa bits (within 0.4% of
/// the value, far below one colour step of 0.023 decades), built once per drawing from
/// [`colour_steps`].
struct ColourIndex {
    log: bool,
    per_unit: f32,
    /// `bits >> 15` of the smallest value the table covers.
    first_key: i64,
    table: Vec<u8>,
}

impl ColourIndex {
    fn new(vmax: f32, log: bool) -> ColourIndex {
        if !log {
            return ColourIndex { log, per_unit: 255.0 / vmax, first_key: 0, table: Vec::new() };
        }
        let steps = colour_steps(vmax, log);
        let key = |v: f32| (v.to_bits() >> 15) as i64;
        let (first_key, last_key) = (key(steps[0]) - 1, key(vmax) + 1);
        let table = (first_key..=last_key)
            .map(|k| {
                // The value in the middle of this key's range decides its colour.
                let mid = f32::from_bits(((k as u32) << 15) | 0x4000);
                steps.partition_point(|&s| s <= mid) as u8
            })
            .collect();
        ColourIndex { log, per_unit: 0.0, first_key, table }
    }

    #[inline]
    fn of(&self, v: f32) -> u8 {
        if !self.log {
            return (v * self.per_unit + 0.5).clamp(0.0, 255.0) as u8;
        }
        if v <= 0.0 {
            return 0;
        }
        let k = (v.to_bits() >> 15) as i64 - self.first_key;
        if k < 0 {
            0
        } else {
            self.table.get(k as usize).copied().unwrap_or(255)
        }
    }
}

/// RGBA pixels of the heatmap: masked cells transparent, broken cells in [`BROKEN_RGB`].
pub fn pixels(data: &HeatmapData, log: bool) -> Vec<u8> {
    pixels_up_to(data, log, value_max(&data.values))
}

/// [`pixels`] with the top of the colour scale already known: each pixel one 4-byte copy from
/// a table of 256 colours.
pub fn pixels_up_to(data: &HeatmapData, log: bool, vmax: f32) -> Vec<u8> {
    let rgba = |[r, g, b]: [u8; 3]| [r, g, b, 255];
    let mut lut = [[0u8; 4]; 256];
    for (i, c) in lut.iter_mut().enumerate() {
        *c = rgba(viridis(i as f64 / 255.0));
    }
    let broken = rgba(BROKEN_RGB);
    let index = ColourIndex::new(vmax, log);
    let cols = data.cols.max(1);
    let mut out = vec![0u8; data.rows * data.cols * 4];
    for ((row, values), &visible) in
        out.chunks_exact_mut(cols * 4).zip(data.values.chunks_exact(cols)).zip(&data.visible)
    {
        let n = visible.min(cols);
        for (px, &v) in row.chunks_exact_mut(4).zip(&values[..n]) {
            px.copy_from_slice(if v.is_finite() { &lut[index.of(v) as usize] } else { &broken });
        }
    }
    out
}

fn context(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas.get_context("2d").ok().flatten().and_then(|c| c.dyn_into().ok())
}

pub fn put_pixels(canvas: &HtmlCanvasElement, width: usize, height: usize, rgba: &[u8]) {
    if canvas.width() != width as u32 {
        canvas.set_width(width as u32);
    }
    if canvas.height() != height as u32 {
        canvas.set_height(height as u32);
    }
    if let (Some(ctx), Ok(image)) =
        (context(canvas), ImageData::new_with_u8_clamped_array_and_sh(Clamped(rgba), width as u32, height as u32))
    {
        let _ = ctx.put_image_data(&image, 0.0, 0.0);
    }
}

/// Gives each heatmap's readout its own element id.
static NEXT_ID: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Heatmaps up to this many rows and columns write each value in its cell.
const LABELLED_MAX: usize = 16;

/// Width in pixels of one statistic's column in the strip.
const STRIP_COL: usize = 16;

fn strip_pixels(data: &HeatmapData) -> Vec<u8> {
    let width = STRIP_COL * ROW_STATS.len();
    let mut out = vec![0u8; width * data.rows * 4];
    for (s, _) in ROW_STATS.iter().enumerate() {
        let top = data.row_stats.iter().map(|r| r[s]).filter(|v| v.is_finite()).fold(0.0f32, f32::max);
        let top = if top > 0.0 { top } else { 1.0 };
        let hex = colour(s).trim_start_matches('#');
        let rgb: [u8; 3] = std::array::from_fn(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(128));
        for (r, stats) in data.row_stats.iter().enumerate() {
            let v = stats[s];
            let filled = if v.is_finite() {
                ((v / top).clamp(0.0, 1.0) * (STRIP_COL - 2) as f32).round() as usize
            } else {
                STRIP_COL - 2
            };
            for x in 0..filled {
                let o = (r * width + s * STRIP_COL + x) * 4;
                let c = if v.is_finite() { rgb } else { BROKEN_RGB };
                out[o..o + 3].copy_from_slice(&c);
                out[o + 3] = 255;
            }
        }
    }
    out
}

/// The weights as CSV: one row per query, one column per key; masked cells empty.
pub fn heatmap_csv(data: &HeatmapData, values: &[f32], corner: &str) -> String {
    let mut out = String::with_capacity(data.rows * data.cols * 10);
    out.push_str(corner);
    for c in 0..data.cols {
        out.push_str(&format!(",{c}"));
    }
    out.push('\n');
    for r in 0..data.rows {
        out.push_str(&r.to_string());
        for c in 0..data.cols {
            out.push(',');
            if c < data.visible[r] {
                out.push_str(&csv_number32(values[r * data.cols + c]));
            }
        }
        out.push('\n');
    }
    out
}

#[component]
pub fn Heatmap(
    #[prop(into)] data: Signal<Option<Arc<HeatmapData>>>,
    #[prop(into)] log: Signal<bool>,
    /// File names of exports, without extension (`attention-weights-softmax-n128-seed7`).
    #[prop(into)]
    file_stem: Signal<String>,
    /// Names of the rows and columns in the readout ("query", "key").
    rows_are: &'static str,
    cols_are: &'static str,
    label: String,
    /// More about a cell for the readout (the score behind an attention weight).
    #[prop(optional)]
    cell_note: Option<Callback<(usize, usize), Option<String>>>,
    /// More export buttons, beside the heatmap's own.
    #[prop(optional)]
    extra_export: Option<Children>,
) -> impl IntoView {
    let extra_export = extra_export.map(|c| c());
    let canvas_ref = NodeRef::<leptos::html::Canvas>::new();
    let strip_ref = NodeRef::<leptos::html::Canvas>::new();
    let legend_ref = NodeRef::<leptos::html::Canvas>::new();
    let hover = RwSignal::new(None::<(usize, usize)>);
    let readout_id = format!("readout-{}", NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let draws = RwSignal::new(0u32);
    let message = RwSignal::new(None::<String>);

    // One pass per new data for the colour scale's top (the drawing and the legend) and the
    // count of broken cells.
    let top_and_broken = Memo::new(move |_| data.with(|d| d.as_ref().map_or((1.0, 0), |d| top_and_broken(&d.values))));
    Effect::new(move |_| {
        let log = log.get();
        let Some(d) = data.get() else { return };
        if let Some(canvas) = canvas_ref.get() {
            put_pixels(&canvas, d.cols, d.rows, &pixels_up_to(&d, log, top_and_broken.get().0));
        }
        if let Some(strip) = strip_ref.get() {
            put_pixels(&strip, STRIP_COL * ROW_STATS.len(), d.rows, &strip_pixels(&d));
        }
        draws.update(|n| *n += 1);
    });
    Effect::new(move |_| {
        if let Some(legend) = legend_ref.get() {
            let rgba: Vec<u8> = (0..256)
                .flat_map(|i| {
                    let [r, g, b] = viridis(i as f64 / 255.0);
                    [r, g, b, 255]
                })
                .collect();
            put_pixels(&legend, 256, 1, &rgba);
        }
    });

    let point = move |cell: (usize, usize)| {
        if hover.get_untracked() != Some(cell) {
            hover.set(Some(cell));
        }
    };
    // Arrow keys move the readout from cell to cell (Home/End: first/last key of the row).
    let on_key = move |ev: ev::KeyboardEvent| {
        let Some(d) = data.get_untracked() else { return };
        let (r, c) = hover.get_untracked().unwrap_or((0, 0));
        let next = match ev.key().as_str() {
            "ArrowUp" => (r.saturating_sub(1), c),
            "ArrowDown" => ((r + 1).min(d.rows - 1), c),
            "ArrowLeft" => (r, c.saturating_sub(1)),
            "ArrowRight" => (r, (c + 1).min(d.cols - 1)),
            "Home" => (r, 0),
            "End" => (r, d.visible[r].max(1) - 1),
            _ => return,
        };
        ev.prevent_default();
        point(next);
    };
    let on_move = move |ev: ev::PointerEvent| {
        let (Some(canvas), Some(d)) = (canvas_ref.get_untracked(), data.get_untracked()) else { return };
        if let Some(cell) = cell_under(&canvas, &ev, d.rows, d.cols) {
            point(cell);
        }
    };

    let readout = move || {
        let (r, c) = hover.get()?;
        let d = data.get()?;
        if r >= d.rows || c >= d.cols {
            return None;
        }
        let s = d.row_stats[r];
        let cell = if c < d.visible[r] {
            let weight = format!("weight {}", readout_number(d.values[r * d.cols + c] as f64));
            match cell_note.and_then(|note| note.run((r, c))) {
                Some(note) => format!("{weight}, {note}"),
                None => weight,
            }
        } else {
            "masked (a causal row does not see later keys)".to_string()
        };
        Some(format!(
            "{rows_are} {r}, {cols_are} {c}: {cell}. Row {r}: entropy {} nats, max {}, sink {}, sum {}, support {}",
            readout_number(s[0] as f64),
            readout_number(s[1] as f64),
            readout_number(s[2] as f64),
            readout_number(s[3] as f64),
            s[4]
        ))
    };

    let legend_labels = move || {
        let vmax = top_and_broken.get().0 as f64;
        if log.get() {
            [
                format!("≤ {}", short_number(vmax * 10f64.powf(-LOG_DECADES))),
                short_number(vmax * 10f64.powf(-LOG_DECADES / 2.0)),
                short_number(vmax),
            ]
        } else {
            ["0".to_string(), short_number(vmax / 2.0), short_number(vmax)]
        }
    };
    // A small heatmap (the classroom example) also shows each value in its cell.
    let labels = move || {
        let d = data.get().filter(|d| d.rows <= LABELLED_MAX && d.cols <= LABELLED_MAX)?;
        let steps = colour_steps(value_max(&d.values), log.get());
        let cells = (0..d.rows * d.cols)
            .map(|i| {
                let (r, c) = (i / d.cols, i % d.cols);
                let v = d.values[i];
                let text = if c < d.visible[r] { short_number(v as f64) } else { String::new() };
                // Dark text on the light (yellow-green) end of the colour map.
                let dark = v.is_finite() && steps.partition_point(|&s| s <= v) > 150;
                view! { <span class:dark=dark>{text}</span> }
            })
            .collect::<Vec<_>>();
        Some(view! {
            <div class="cell-labels" aria-hidden="true" style:grid-template-columns=format!("repeat({}, 1fr)", d.cols)>
                {cells}
            </div>
        })
    };
    let broken = move || top_and_broken.get().1;
    let mark_style = move || {
        data.with(|d| {
            d.as_ref().and_then(|d| {
                d.mark.map(|(r, c)| {
                    (
                        // The centre of the cell; the ring is centred on it by the style sheet.
                        format!("{}%", 100.0 * (c as f64 + 0.5) / d.cols as f64),
                        format!("{}%", 100.0 * (r as f64 + 0.5) / d.rows as f64),
                        format!("{}%", (200.0 / d.cols as f64).max(3.0)),
                    )
                })
            })
        })
    };

    let report = move |r: Result<(), String>| message.set(r.err().map(|e| format!("The export failed: {e}")));
    let export_png = move |_| {
        let Some(canvas) = canvas_ref.get_untracked() else { return };
        // Scale up by whole pixels so that each cell stays a crisp square.
        let Some(d) = data.get_untracked() else { return };
        let k = (512 / d.cols.max(1)).max(1) as u32;
        let big = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|doc| doc.create_element("canvas").ok())
            .and_then(|c| c.dyn_into::<HtmlCanvasElement>().ok());
        let Some(big) = big else { return };
        big.set_width(d.cols as u32 * k);
        big.set_height(d.rows as u32 * k);
        if let Some(ctx) = context(&big) {
            ctx.set_image_smoothing_enabled(false);
            let _ = ctx.draw_image_with_html_canvas_element_and_dw_and_dh(
                &canvas,
                0.0,
                0.0,
                (d.cols as u32 * k) as f64,
                (d.rows as u32 * k) as f64,
            );
        }
        report(download_canvas_png(&big, &format!("{}.png", file_stem.get_untracked())));
    };
    let export_csv = move |_| {
        let Some(d) = data.get_untracked() else { return };
        let csv = heatmap_csv(&d, &d.values, &format!("{rows_are}\\{cols_are}"));
        report(download_text(&csv, "text/csv", &format!("{}.csv", file_stem.get_untracked())));
    };

    view! {
        <figure class="heatmap" data-draws=move || draws.get().to_string() data-broken=move || broken().to_string()>
            <div class="heatmap-row">
                <div class="heatmap-canvas">
                    <canvas
                        node_ref=canvas_ref
                        width="1"
                        height="1"
                        role="img"
                        aria-label=label.clone()
                        tabindex="0"
                        aria-describedby=readout_id.clone()
                        on:pointermove=on_move
                        on:pointerdown=on_move
                        on:keydown=on_key
                    ></canvas>
                    {labels}
                    {move || mark_style().map(|(left, top, size)| view! {
                        <span class="heatmap-mark" aria-hidden="true" style:left=left style:top=top style:width=size.clone() style:height=size></span>
                    })}
                </div>
                <canvas node_ref=strip_ref class="heatmap-strip" width="1" height="1" aria-hidden="true"></canvas>
            </div>
            <div class="strip-head" aria-hidden="true">
                {ROW_STATS.iter().enumerate().map(|(i, (short, long))| view! {
                    <span title=*long style:border-bottom-color=colour(i)>{*short}</span>
                }).collect::<Vec<_>>()}
            </div>
            <div class="legend-bar">
                <canvas node_ref=legend_ref width="256" height="1" aria-hidden="true"></canvas>
                <div class="legend-labels">
                    {move || legend_labels().into_iter().map(|t| view! { <span>{t}</span> }).collect::<Vec<_>>()}
                </div>
            </div>
            {move || (broken() > 0).then(|| view! {
                <p class="broken-note">{format!("{} cells are NaN or infinite (shown in magenta).", broken())}</p>
            })}
            <p class="readout" id=readout_id aria-live="polite">
                {move || {
                    readout()
                        .unwrap_or_else(|| {
                            format!("Point at a cell (or focus the map and use the arrow keys) to read its {rows_are}, {cols_are} and value.")
                        })
                }}
            </p>
            <super::heatmap_table::HeatmapTable data=data rows_are=rows_are cols_are=cols_are/>
            <div class="export">
                <span>"Export:"</span>
                <button type="button" on:click=export_png>"PNG"</button>
                <button type="button" on:click=export_csv>"CSV"</button>
                {extra_export}
                <span role="status">{move || message.get()}</span>
            </div>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> HeatmapData {
        HeatmapData {
            rows: 2,
            cols: 2,
            values: vec![1.0, 0.0, 0.25, f32::NAN],
            visible: vec![1, 2],
            row_stats: vec![[0.0; 5]; 2],
            mark: None,
        }
    }

    #[test]
    fn masked_cells_are_transparent_and_broken_cells_stand_out() {
        let px = pixels(&data(), false);
        assert_eq!(&px[0..4], &[253, 231, 37, 255]); // the largest value: the top of the map
        assert_eq!(px[7], 0); // masked
        assert_eq!(&px[12..15], &BROKEN_RGB);
        assert_eq!(heatmap_csv(&data(), &data().values, "q\\k"), "q\\k,0,1\n0,1,\n1,0.25,NaN\n");
    }

    #[test]
    fn the_colour_index_agrees_with_the_formula() {
        for log in [false, true] {
            let index = ColourIndex::new(2.0, log);
            for i in 0..20000 {
                let v = if log { 2.0 * 10f32.powf(-7.0 + i as f32 * 7.0 / 20000.0) } else { i as f32 / 10000.0 };
                let want = (colour_position(v, 2.0, log) * 255.0).round().clamp(0.0, 255.0) as i32;
                let got = index.of(v) as i32;
                assert!((got - want).abs() <= 1, "{v} (log {log}): {got} vs {want}");
            }
            assert_eq!(index.of(0.0), 0);
        }
    }

    #[test]
    fn log_scale_spans_six_decades_below_the_top() {
        assert_eq!(colour_position(1.0, 1.0, true), 1.0);
        assert!((colour_position(1e-3, 1.0, true) - 0.5).abs() < 1e-6);
        assert_eq!(colour_position(0.0, 1.0, true), 0.0);
        assert_eq!(viridis(0.0), [68, 1, 84]);
    }
}
