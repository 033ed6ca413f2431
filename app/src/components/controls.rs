//! Labelled controls: a slider with numeric entry (range shown and enforced), a select and a
//! toggle. Each takes its parameter constant from its lab's `settings.rs`, so the label, range and unit
//! come from the one declaration the URL codec uses too.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;

use crate::state::codec::{format_float, Choice, FlagParam, FloatParam, IntParam};

/// Checks typed text for an integer parameter: the value to use, and a message when the text
/// was not used as typed (naming the value, the allowed range and what was done).
pub fn check_int(p: &IntParam, text: &str, current: u32) -> (u32, Option<String>) {
    let text = text.trim();
    match text.parse::<i128>() {
        Ok(v) if v < p.min as i128 => {
            (p.min, Some(format!("{v} is below the minimum of {} ({}): set to {}", p.key, p.range_text(), p.min)))
        }
        Ok(v) if v > p.max as i128 => {
            (p.max, Some(format!("{v} is above the maximum of {} ({}): set to {}", p.key, p.range_text(), p.max)))
        }
        Ok(v) => (v as u32, None),
        Err(_) => (
            current,
            Some(format!("“{text}” is not a whole number: {} stays {current} (allowed {})", p.key, p.range_text())),
        ),
    }
}

/// The same for a real-valued parameter.
pub fn check_float(p: &FloatParam, text: &str, current: f64) -> (f64, Option<String>) {
    let text = text.trim();
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v < p.min => (
            p.min,
            Some(format!(
                "{text} is below the minimum of {} ({}): set to {}",
                p.key,
                p.range_text(),
                format_float(p.min)
            )),
        ),
        Ok(v) if v.is_finite() && v > p.max => (
            p.max,
            Some(format!(
                "{text} is above the maximum of {} ({}): set to {}",
                p.key,
                p.range_text(),
                format_float(p.max)
            )),
        ),
        Ok(v) if v.is_finite() => (v, None),
        _ => (
            current,
            Some(format!(
                "“{text}” is not a finite number: {} stays {} (allowed {})",
                p.key,
                format_float(current),
                p.range_text()
            )),
        ),
    }
}

/// Slider steps of a log-scale parameter.
const LOG_STEPS: f64 = 1000.0;

/// A slider position (0..=1000) for a value of a log-scale parameter, and back. Values from
/// the slider are rounded to three significant digits so that links stay readable.
pub fn log_position(p: &FloatParam, v: f64) -> f64 {
    ((v.ln() - p.min.ln()) / (p.max.ln() - p.min.ln()) * LOG_STEPS).round()
}

pub fn log_value(p: &FloatParam, position: f64) -> f64 {
    let v = (p.min.ln() + position / LOG_STEPS * (p.max.ln() - p.min.ln())).exp();
    let rounded: f64 = format!("{v:.2e}").parse().unwrap_or(v);
    rounded.clamp(p.min, p.max)
}

fn input_of(ev: &web_sys::Event) -> Option<HtmlInputElement> {
    ev.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
}

fn range_line(range: String, unit: &str) -> String {
    if unit.is_empty() {
        format!("allowed {range}")
    } else {
        format!("allowed {range} {unit}")
    }
}

/// A whole-number setting: a slider (when the range is small enough to drag) and an exact
/// number entry; typed values outside the range are clamped and the message says so.
#[component]
pub fn IntControl(param: IntParam, #[prop(into)] value: Signal<u32>, on_change: Callback<u32>) -> impl IntoView {
    let id = format!("ctl-{}", param.key);
    let message = RwSignal::new(None::<String>);
    let has_slider = (param.max - param.min) <= 100_000;
    let slider = has_slider.then(|| {
        view! {
            <input
                type="range"
                id=id.clone()
                min=param.min
                max=param.max
                step="1"
                aria-describedby=format!("{id}-range")
                prop:value=move || value.get().to_string()
                on:input=move |ev| {
                    if let Ok(v) = event_target_value(&ev).parse::<u32>() {
                        message.set(None);
                        on_change.run(param.clamp(v).0);
                    }
                }
            />
        }
    });
    let number_id = if has_slider { format!("{id}-number") } else { id.clone() };
    view! {
        <div class="control" data-key=param.key>
            <label for=id.clone()>{param.label}</label>
            <div class="control-inputs">
                {slider}
                <input
                    type="number"
                    id=number_id
                    inputmode="numeric"
                    min=param.min
                    max=param.max
                    step="1"
                    aria-label=format!("{}, exact value", param.label)
                    aria-describedby=format!("{id}-range")
                    prop:value=move || value.get().to_string()
                    on:change=move |ev| {
                        let (v, note) = check_int(&param, &event_target_value(&ev), value.get_untracked());
                        message.set(note);
                        on_change.run(v);
                        if let Some(input) = input_of(&ev) {
                            input.set_value(&v.to_string());
                        }
                    }
                />
            </div>
            <span class="control-range" id=format!("{id}-range")>{range_line(param.range_text(), param.unit)}</span>
            <p class="control-message" role="status">{move || message.get()}</p>
        </div>
    }
}

/// A real-valued setting: slider (log-scaled where the parameter asks) and exact entry.
#[component]
pub fn FloatControl(param: FloatParam, #[prop(into)] value: Signal<f64>, on_change: Callback<f64>) -> impl IntoView {
    let id = format!("ctl-{}", param.key);
    let message = RwSignal::new(None::<String>);
    let (slider_min, slider_max, slider_step) =
        if param.log { (0.0, LOG_STEPS, 1.0) } else { (param.min, param.max, (param.max - param.min) / LOG_STEPS) };
    let position = move || {
        let v = value.get();
        if param.log {
            log_position(&param, v).to_string()
        } else {
            format_float(v)
        }
    };
    view! {
        <div class="control" data-key=param.key>
            <label for=id.clone()>{param.label}</label>
            <div class="control-inputs">
                <input
                    type="range"
                    id=id.clone()
                    min=slider_min
                    max=slider_max
                    step=slider_step
                    aria-valuetext=move || format_float(value.get())
                    aria-describedby=format!("{id}-range")
                    prop:value=position
                    on:input=move |ev| {
                        if let Ok(pos) = event_target_value(&ev).parse::<f64>() {
                            let v = if param.log { log_value(&param, pos) } else { pos.clamp(param.min, param.max) };
                            message.set(None);
                            on_change.run(v);
                        }
                    }
                />
                <input
                    type="text"
                    inputmode="decimal"
                    id=format!("{id}-number")
                    aria-label=format!("{}, exact value", param.label)
                    aria-describedby=format!("{id}-range")
                    prop:value=move || format_float(value.get())
                    on:change=move |ev| {
                        let (v, note) = check_float(&param, &event_target_value(&ev), value.get_untracked());
                        message.set(note);
                        on_change.run(v);
                        if let Some(input) = input_of(&ev) {
                            input.set_value(&format_float(v));
                        }
                    }
                />
            </div>
            <span class="control-range" id=format!("{id}-range")>{range_line(param.range_text(), param.unit)}</span>
            <p class="control-message" role="status">{move || message.get()}</p>
        </div>
    }
}

/// A setting with named values, as a select.
#[component]
pub fn ChoiceControl<C: Choice>(#[prop(into)] value: Signal<C>, on_change: Callback<C>) -> impl IntoView {
    let id = format!("ctl-{}", C::KEY);
    view! {
        <div class="control" data-key=C::KEY>
            <label for=id.clone()>{C::LABEL}</label>
            <select
                id=id
                prop:value=move || value.get().name()
                on:change=move |ev| {
                    let name = event_target_value(&ev);
                    if let Some(&c) = C::ALL.iter().find(|c| c.name() == name) {
                        on_change.run(c);
                    }
                }
            >
                {C::ALL
                    .iter()
                    .map(|&c| view! { <option value=c.name() selected=move || value.get() == c>{c.label()}</option> })
                    .collect::<Vec<_>>()}
            </select>
        </div>
    }
}

/// A list of named values, `min` to `max` of them, as checkboxes (`{id_prefix}-{name}`); a
/// refused change says why and leaves the box as it was.
#[component]
pub fn ListPicker<C: Choice>(
    legend: String,
    id_prefix: &'static str,
    /// What one and several values are called in the messages ("function", "functions").
    noun_one: &'static str,
    noun: &'static str,
    min: usize,
    max: usize,
    #[prop(into)] value: Signal<Vec<C>>,
    on_change: Callback<Vec<C>>,
    #[prop(optional)] test_id: &'static str,
    /// The list's URL key, for a `show=` list.
    #[prop(optional)]
    key: &'static str,
) -> impl IntoView {
    let message = RwSignal::new(None::<String>);
    let toggle = move |c: C, on: bool, ev: web_sys::Event| {
        let mut list = value.get_untracked();
        let refused = if on && list.len() >= max {
            Some(format!("At most {max} {noun}: uncheck one before adding {}.", c.label()))
        } else if !on && list.len() <= min {
            let fewest = if min == 1 { format!("one {noun_one}") } else { format!("{min} {noun}") };
            Some(format!("At least {fewest}: check another before removing {}.", c.label()))
        } else {
            None
        };
        if let Some(why) = refused {
            message.set(Some(why));
            if let Some(input) = input_of(&ev) {
                input.set_checked(!on);
            }
            return;
        }
        message.set(None);
        if on {
            if !list.contains(&c) {
                list.push(c);
            }
        } else {
            list.retain(|x| *x != c);
        }
        on_change.run(list);
    };
    view! {
        <fieldset class="control variant-picker" data-testid=test_id data-key=(!key.is_empty()).then_some(key)>
            <legend>{legend}</legend>
            {C::ALL
                .iter()
                .map(|&c| {
                    let id = format!("{id_prefix}-{}", c.name());
                    view! {
                        <div class="control-flag">
                            <input
                                type="checkbox"
                                id=id.clone()
                                prop:checked=move || value.with(|l| l.contains(&c))
                                on:change=move |ev| toggle(c, event_target_checked(&ev), ev)
                            />
                            <label for=id>{c.label()}</label>
                        </div>
                    }
                })
                .collect::<Vec<_>>()}
            <p class="control-message" role="status">{move || message.get()}</p>
        </fieldset>
    }
}

/// An on/off setting, as a checkbox.
#[component]
pub fn FlagControl(param: FlagParam, #[prop(into)] value: Signal<bool>, on_change: Callback<bool>) -> impl IntoView {
    let id = format!("ctl-{}", param.key);
    view! {
        <div class="control control-flag" data-key=param.key>
            <input
                type="checkbox"
                id=id.clone()
                prop:checked=move || value.get()
                on:change=move |ev| on_change.run(event_target_checked(&ev))
            />
            <label for=id>{param.label}</label>
        </div>
    }
}

/// A [`FloatControl`] bound to one field of a lab's settings: `get` reads it, `set` writes it.
pub fn float_field<C: Send + Sync + 'static>(
    config: RwSignal<C>,
    param: FloatParam,
    get: fn(&C) -> f64,
    set: fn(&mut C, f64),
) -> impl IntoView {
    view! {
        <FloatControl
            param=param
            value=Signal::derive(move || config.with(get))
            on_change=Callback::new(move |v| config.update(|c| set(c, v)))
        />
    }
}

/// An [`IntControl`] bound to one field of a lab's settings.
pub fn int_field<C: Send + Sync + 'static>(
    config: RwSignal<C>,
    param: IntParam,
    get: fn(&C) -> u32,
    set: fn(&mut C, u32),
) -> impl IntoView {
    view! {
        <IntControl
            param=param
            value=Signal::derive(move || config.with(get))
            on_change=Callback::new(move |v| config.update(|c| set(c, v)))
        />
    }
}

/// A [`FlagControl`] bound to one field of a lab's settings.
pub fn flag_field<C: Send + Sync + 'static>(
    config: RwSignal<C>,
    param: FlagParam,
    get: fn(&C) -> bool,
    set: fn(&mut C, bool),
) -> impl IntoView {
    view! {
        <FlagControl
            param=param
            value=Signal::derive(move || config.with(get))
            on_change=Callback::new(move |v| config.update(|c| set(c, v)))
        />
    }
}

/// A [`ChoiceControl`] bound to one field of a lab's settings.
pub fn choice_field<C: Send + Sync + 'static, K: Choice>(
    config: RwSignal<C>,
    get: fn(&C) -> K,
    set: fn(&mut C, K),
) -> impl IntoView {
    view! {
        <ChoiceControl
            value=Signal::derive(move || config.with(get))
            on_change=Callback::new(move |v| config.update(|c| set(c, v)))
        />
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labs::{
        attention::settings::{ATTN_N, ATTN_SCALE},
        model::settings::MODEL_LR,
    };

    #[test]
    fn typed_values_outside_the_range_are_clamped_and_named() {
        assert_eq!(check_int(&ATTN_N, "128", 256), (128, None));
        let (v, m) = check_int(&ATTN_N, "5000", 256);
        assert_eq!(v, 1024);
        assert_eq!(m.unwrap(), "5000 is above the maximum of n (2..1024): set to 1024");
        let (v, m) = check_int(&ATTN_N, "-3", 256);
        assert_eq!((v, m.unwrap()), (2, "-3 is below the minimum of n (2..1024): set to 2".to_string()));
        let (v, m) = check_int(&ATTN_N, "12ab", 256);
        assert_eq!((v, m.unwrap()), (256, "“12ab” is not a whole number: n stays 256 (allowed 2..1024)".to_string()));
        let (v, m) = check_float(&ATTN_SCALE, "NaN", 2.0);
        assert_eq!(v, 2.0);
        assert!(m.unwrap().contains("not a finite number"));
        assert_eq!(check_float(&ATTN_SCALE, "1e9", 2.0).0, 10000.0);
    }

    #[test]
    fn log_slider_covers_the_range_and_rounds_to_readable_values() {
        assert_eq!(log_value(&MODEL_LR, 0.0), 1e-5);
        assert_eq!(log_value(&MODEL_LR, LOG_STEPS), 1.0);
        for pos in [1.0, 333.0, 600.0, 777.0] {
            let v = log_value(&MODEL_LR, pos);
            let three_digits: f64 = format!("{v:.2e}").parse().unwrap();
            assert_eq!(v, three_digits, "slider value {v} has more than three significant digits");
        }
        for pos in [0.0, 137.0, 500.0, 999.0] {
            let v = log_value(&ATTN_SCALE, pos);
            assert!((log_position(&ATTN_SCALE, v) - pos).abs() <= 3.0, "{pos} -> {v}");
        }
    }
}
