//! A line chart in SVG: several series, legend, axis labels, linear or log axes, a hover
//! readout, a data table for screen readers and tests, and exports (PNG, SVG, CSV).
//!
//! Non-finite y values break a line (a variant that overflowed has no point there); markers
//! draw a labelled vertical line (where something breaks).

use leptos::{ev, prelude::*};

use super::{
    export::{csv_field, csv_number, download_svg_as_png, download_text, slug},
    scale::{path_of, Scale},
};

/// Series colours: distinguishable with common colour-vision deficiencies, and readable on the
/// light and the dark background.
pub const PALETTE: [&str; 6] = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9"];

/// The colour index of a reference line (a target, a bound): the text colour of the theme.
pub const INK: usize = usize::MAX;

pub fn colour(index: usize) -> &'static str {
    if index == INK {
        return "currentColor";
    }
    PALETTE[index % PALETTE.len()]
}

#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    pub colour: usize,
    pub points: Vec<(f64, f64)>,
    pub dashed: bool,
}

/// A labelled vertical line at `x`.
#[derive(Clone, Debug, PartialEq)]
pub struct Marker {
    pub x: f64,
    pub label: String,
    pub colour: usize,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Axis {
    pub label: &'static str,
    pub log: bool,
}

/// Rows of a dense chart's data table.
pub const DENSE_TABLE_ROWS: usize = 41;

const W: f64 = 560.0;
const H: f64 = 320.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 18.0;
const BOTTOM: f64 = 48.0;

/// A short number for a tick or a readout.
pub fn short_number(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if !v.is_finite() {
        return if v.is_nan() {
            "NaN".into()
        } else if v > 0.0 {
            "∞".into()
        } else {
            "−∞".into()
        };
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        let s = format!("{v:.2e}");
        // 1.00e4 → 1e4
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let m = m.trim_end_matches('0').trim_end_matches('.');
        return format!("{m}e{e}");
    }
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// A readout number with more digits.
pub fn readout_number(v: f64) -> String {
    if v.is_finite() && v != 0.0 && (1e-4..1e6).contains(&v.abs()) {
        let digits = (4 - v.abs().log10().floor() as i32).clamp(0, 8) as usize;
        format!("{v:.digits$}")
    } else {
        short_number(v)
    }
}

/// The CSV of a chart: one row per x, one column per series.
pub fn chart_csv(x_label: &str, series: &[Series]) -> String {
    let mut xs: Vec<f64> = series.iter().flat_map(|s| s.points.iter().map(|p| p.0)).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    let mut out = csv_field(x_label);
    for s in series {
        out.push(',');
        out.push_str(&csv_field(&s.name));
    }
    out.push('\n');
    for x in xs {
        out.push_str(&csv_number(x));
        for s in series {
            out.push(',');
            if let Some(p) = s.points.iter().find(|p| p.0 == x) {
                out.push_str(&csv_number(p.1));
            }
        }
        out.push('\n');
    }
    out
}

#[component]
pub fn LineChart(
    /// Names the chart on screen and in file names.
    title: &'static str,
    x: Axis,
    #[prop(into)] y: Signal<Axis>,
    #[prop(into)] series: Signal<Vec<Series>>,
    #[prop(into, optional)] markers: Signal<Vec<Marker>>,
    /// What the data depends on, for the file names (`n128-seed7`).
    #[prop(into)]
    file_tag: Signal<String>,
    test_id: &'static str,
    /// Many points per series (curves, training losses): lines without a dot per point, and a
    /// data table of at most [`DENSE_TABLE_ROWS`] evenly spaced rows (the CSV has every point).
    #[prop(optional)]
    dense: bool,
    /// The y range to show instead of the data's (lines leaving it are clipped).
    #[prop(into, optional)]
    y_range: Signal<Option<(f64, f64)>>,
) -> impl IntoView {
    // Computed once per change and compared: the parts below read it many times.
    let series = Memo::new(move |_| series.get());
    let svg_ref = NodeRef::<leptos::svg::Svg>::new();
    // A dense chart builds its table only while it is open (it would be rebuilt with every
    // change of the data, unseen).
    let table_open = RwSignal::new(!dense);
    let hover = RwSignal::new(None::<f64>);
    let message = RwSignal::new(None::<String>);
    let scales = Memo::new(move |_| {
        let y_axis = y.get();
        let y_range = y_range.get();
        series.with(|s| {
            let xs = Scale::new(s.iter().flat_map(|s| s.points.iter().map(|p| p.0)), x.log, LEFT, W - RIGHT)?;
            let ys = match y_range {
                Some((lo, hi)) => Scale::new([lo, hi].into_iter(), y_axis.log, H - BOTTOM, TOP)?,
                None => Scale::new(s.iter().flat_map(|s| s.points.iter().map(|p| p.1)), y_axis.log, H - BOTTOM, TOP)?,
            };
            Some((xs, ys))
        })
    });

    let on_move = move |ev: ev::MouseEvent| {
        let (Some(svg), Some((xs, _))) = (svg_ref.get_untracked(), scales.get_untracked()) else { return };
        let rect = svg.get_bounding_client_rect();
        if rect.width() <= 0.0 {
            return;
        }
        let px = (ev.client_x() as f64 - rect.left()) / rect.width() * W;
        let want = xs.back(px);
        // The nearest x that some series has, on screen.
        let nearest = series.with_untracked(|s| {
            s.iter()
                .flat_map(|s| s.points.iter().map(|p| p.0))
                .filter(|v| v.is_finite())
                .min_by(|a, b| (xs.at(*a) - xs.at(want)).abs().total_cmp(&(xs.at(*b) - xs.at(want)).abs()))
        });
        hover.set(nearest);
    };

    let file_name = move |ext: &str| format!("{}-{}.{ext}", slug(title), file_tag.get_untracked());
    let export_svg_text = move || -> Option<String> {
        let svg = svg_ref.get_untracked()?;
        let text = web_sys::XmlSerializer::new().ok()?.serialize_to_string(&svg).ok()?;
        // Exports are print-friendly: dark ink on white, whatever the page's theme.
        let open_end = text.find('>')?;
        let (head, rest) = text.split_at(open_end);
        Some(format!("{head} width=\"{W}\" height=\"{H}\" color=\"#1b1f24\"><rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>{}", &rest[1..]))
    };
    let report = move |r: Result<(), String>| message.set(r.err().map(|e| format!("The export failed: {e}")));
    let export_csv = move |_| {
        let csv = series.with_untracked(|s| chart_csv(x.label, s));
        report(download_text(&csv, "text/csv", &file_name("csv")));
    };
    let export_svg = move |_| match export_svg_text() {
        Some(text) => report(download_text(&text, "image/svg+xml", &file_name("svg"))),
        None => report(Err("the chart is not drawn yet".into())),
    };
    let export_png = move |_| match export_svg_text() {
        Some(text) => report(download_svg_as_png(&text, W, H, "#ffffff", &file_name("png"))),
        None => report(Err("the chart is not drawn yet".into())),
    };

    // The drawing is split by what it depends on, so that a slider moving one curve rewrites
    // that curve's path and nothing else: the grid follows the scales, each line its own points
    // (compared, so an unchanged curve is left alone), the legend the names and colours.
    let grid = move || {
        let Some((xs, ys)) = scales.get() else {
            return view! {
                <text x=W / 2.0 y=H / 2.0 text-anchor="middle" fill="currentColor" opacity="0.7">"No data yet"</text>
            }
            .into_any();
        };
        let grid_y = ys
            .ticks()
            .into_iter()
            .map(|t| {
                let py = ys.at(t);
                view! {
                    <line x1=LEFT x2=W - RIGHT y1=py y2=py stroke="currentColor" stroke-opacity="0.12"/>
                    <text x=LEFT - 6.0 y=py + 4.0 text-anchor="end" font-size="11" fill="currentColor">
                        {short_number(t)}
                    </text>
                }
            })
            .collect::<Vec<_>>();
        let grid_x = xs
            .ticks()
            .into_iter()
            .map(|t| {
                let px = xs.at(t);
                view! {
                    <line x1=px x2=px y1=TOP y2=H - BOTTOM stroke="currentColor" stroke-opacity="0.12"/>
                    <text x=px y=H - BOTTOM + 16.0 text-anchor="middle" font-size="11" fill="currentColor">
                        {short_number(t)}
                    </text>
                }
            })
            .collect::<Vec<_>>();
        view! {
            {grid_y}
            {grid_x}
            <line x1=LEFT x2=W - RIGHT y1=H - BOTTOM y2=H - BOTTOM stroke="currentColor"/>
            <line x1=LEFT x2=LEFT y1=TOP y2=H - BOTTOM stroke="currentColor"/>
        }
        .into_any()
    };
    let line = move |i: usize| {
        let points = Memo::new(move |_| series.with(|s| s.get(i).map(|s| s.points.clone()).unwrap_or_default()));
        let style = Memo::new(move |_| series.with(|s| s.get(i).map(|s| (s.colour, s.dashed)).unwrap_or_default()));
        let d = move || {
            scales.with(|sc| sc.as_ref().map(|(xs, ys)| points.with(|p| path_of(p, xs, ys))).unwrap_or_default())
        };
        let dots = move || {
            if dense {
                return Vec::new();
            }
            let Some((xs, ys)) = scales.get() else { return Vec::new() };
            let fill = colour(style.get().0);
            points.with(|p| {
                p.iter()
                    .filter(|p| p.0.is_finite() && p.1.is_finite() && (!xs.log || p.0 > 0.0) && (!ys.log || p.1 > 0.0))
                    .map(|&(px, py)| view! { <circle cx=xs.at(px) cy=ys.at(py) r="2.5" fill=fill/> })
                    .collect::<Vec<_>>()
            })
        };
        view! {
            <g>
                <path
                    d=d
                    fill="none"
                    stroke=move || colour(style.get().0)
                    stroke-width=move || if style.get().1 { "4" } else { "2" }
                    stroke-dasharray=move || if style.get().1 { "6 4" } else { "none" }
                />
                {dots}
            </g>
        }
    };
    let marks = move || {
        let Some((xs, _)) = scales.get() else { return Vec::new() };
        markers
            .get()
            .into_iter()
            .filter(|m| m.x.is_finite() && (!xs.log || m.x > 0.0))
            .map(|m| {
                let px = xs.at(m.x).clamp(LEFT, W - RIGHT);
                view! {
                    <line x1=px x2=px y1=TOP y2=H - BOTTOM stroke=colour(m.colour) stroke-width="1.5" stroke-dasharray="3 3"/>
                    <text x=px + 4.0 y=H - BOTTOM - 6.0 font-size="11" fill=colour(m.colour)>{m.label}</text>
                }
            })
            .collect::<Vec<_>>()
    };
    let guide = move || {
        let hx = hover.get()?;
        let px = scales.with(|sc| sc.as_ref().map(|(xs, _)| xs.at(hx)))?;
        Some(view! { <line x1=px x2=px y1=TOP y2=H - BOTTOM stroke="currentColor" stroke-opacity="0.5"/> })
    };
    let plot = move |n: usize| {
        view! {
            {grid}
            <clipPath id=format!("clip-{test_id}")>
                <rect x=LEFT y=TOP width=W - LEFT - RIGHT height=H - TOP - BOTTOM/>
            </clipPath>
            <g clip-path=format!("url(#clip-{test_id})")>{(0..n).map(line).collect::<Vec<_>>()}</g>
            {marks}
            {guide}
        }
    };

    let readout = move || {
        let hx = hover.get()?;
        let parts: Vec<String> = series.with(|s| {
            s.iter()
                .filter_map(|s| {
                    s.points.iter().find(|p| p.0 == hx).map(|p| format!("{} {}", s.name, readout_number(p.1)))
                })
                .collect()
        });
        Some(format!("{} = {}: {}", x.label, readout_number(hx), parts.join(" · ")))
    };

    let legend_items =
        Memo::new(move |_| series.with(|s| s.iter().map(|s| (s.name.clone(), s.colour, s.dashed)).collect::<Vec<_>>()));
    let legend = move || {
        legend_items
            .get()
            .into_iter()
            .map(|(name, c, dashed)| {
                view! {
                    <li>
                        <span class="swatch" class:dashed=dashed style:background-color=colour(c)></span>
                        {name}
                    </li>
                }
            })
            .collect::<Vec<_>>()
    };

    let table = move || {
        let s = series.get();
        let mut xs: Vec<f64> = s.iter().flat_map(|s| s.points.iter().map(|p| p.0)).collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        if dense && xs.len() > DENSE_TABLE_ROWS {
            let every = (xs.len() - 1) as f64 / (DENSE_TABLE_ROWS - 1) as f64;
            xs = (0..DENSE_TABLE_ROWS).map(|i| xs[(i as f64 * every).round() as usize]).collect();
        }
        let head = s.iter().map(|s| view! { <th scope="col">{s.name.clone()}</th> }).collect::<Vec<_>>();
        let rows = xs
            .into_iter()
            .map(|xv| {
                let cells = s
                    .iter()
                    .map(|s| {
                        let v = s.points.iter().find(|p| p.0 == xv).map(|p| p.1);
                        view! {
                            <td data-series=s.name.clone() data-value=v.map(|v| format!("{v}")).unwrap_or_default()>
                                {v.map(readout_number).unwrap_or_default()}
                            </td>
                        }
                    })
                    .collect::<Vec<_>>();
                view! {
                    <tr>
                        <th scope="row">{readout_number(xv)}</th>
                        {cells}
                    </tr>
                }
            })
            .collect::<Vec<_>>();
        view! {
            <table>
                <thead>
                    <tr>
                        <th scope="col">{x.label}</th>
                        {head}
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        }
    };

    view! {
        <figure class="chart" data-testid=test_id>
            <figcaption>{title}</figcaption>
            <svg
                node_ref=svg_ref
                xmlns="http://www.w3.org/2000/svg"
                viewBox=format!("0 0 {W} {H}")
                role="img"
                aria-label=move || format!("{title}: {} against {}", y.get().label, x.label)
                font-family="system-ui, sans-serif"
                on:mousemove=on_move
                on:mouseleave=move |_| hover.set(None)
            >
                // Rebuilt afresh when the number of series changes: an in-place rebuild of the
                // series' group list dropped the new ones (a run added to a live chart).
                <For each=move || std::iter::once(series.with(Vec::len)) key=|n| *n children=plot/>
                <text x=(LEFT + W - RIGHT) / 2.0 y=H - 10.0 text-anchor="middle" font-size="12" fill="currentColor">
                    {format!("{}{}", x.label, if x.log { " (log scale)" } else { "" })}
                </text>
                <text
                    x="14"
                    y=(TOP + H - BOTTOM) / 2.0
                    text-anchor="middle"
                    font-size="12"
                    fill="currentColor"
                    transform=format!("rotate(-90 14 {})", (TOP + H - BOTTOM) / 2.0)
                >
                    {move || {
                        let y = y.get();
                        format!("{}{}", y.label, if y.log { " (log scale)" } else { "" })
                    }}
                </text>
            </svg>
            <p class="readout" aria-live="polite">{move || readout().unwrap_or_else(|| "Point at the chart to read values.".into())}</p>
            <ul class="legend">{legend}</ul>
            <div class="export">
                <span>"Export:"</span>
                <button type="button" on:click=export_png>"PNG"</button>
                <button type="button" on:click=export_svg>"SVG"</button>
                <button type="button" on:click=export_csv>"CSV"</button>
                <span role="status">{move || message.get()}</span>
            </div>
            <details
                class="data-table"
                on:toggle=move |ev| {
                    use wasm_bindgen::JsCast;
                    if let Some(d) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlDetailsElement>().ok()) {
                        table_open.set(d.open());
                    }
                }
            >
                <summary>"Data table"</summary>
                {move || table_open.get().then(table)}
            </details>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_values_break_the_line_and_csv_keeps_them_empty() {
        let x = Scale::new([1.0, 3.0].into_iter(), false, 0.0, 100.0).unwrap();
        let y = Scale::new([0.0, 1.0].into_iter(), false, 100.0, 0.0).unwrap();
        let d = path_of(&[(1.0, 0.5), (2.0, f64::NAN), (3.0, 1.0)], &x, &y);
        assert_eq!(d.matches('M').count(), 2, "{d}");
        let s = vec![
            Series { name: "a".into(), colour: 0, points: vec![(1.0, 0.5), (2.0, f64::NAN)], dashed: false },
            Series { name: "b, c".into(), colour: 1, points: vec![(2.0, 3.0)], dashed: false },
        ];
        assert_eq!(chart_csv("n", &s), "n,a,\"b, c\"\n1,0.5,\n2,NaN,3\n");
        assert_eq!(short_number(1e5), "1e5");
        assert_eq!(short_number(0.25), "0.25");
    }
}
