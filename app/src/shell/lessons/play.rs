//! A lesson running in the labs: the bar above the lab with the step's text and question, the
//! keys that move between steps, and the speaker notes window (`notes=1`).

use leptos::{ev, prelude::*};
use wasm_bindgen::JsCast;

use super::{model::Question, Lessons, OpenLesson, Source};
use crate::shell::{
    page_href,
    route::{encode_shell, Page, ShellView},
    AppState,
};
use crate::state::url;

/// Paragraphs of a step's plain text (a blank line starts one). Never HTML.
fn paragraphs(text: &str) -> Vec<AnyView> {
    text.split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| view! { <p>{p.to_string()}</p> }.into_any())
        .collect()
}

/// The link of a lesson's step: `?lesson=x&step=3` for a built-in lesson, else the lesson with
/// the step's own settings.
pub fn step_href(open: &OpenLesson, index: usize) -> String {
    let view = ShellView {
        lesson: match &open.source {
            Source::BuiltIn(id) => Some(id.clone()),
            Source::File(_) => Some(super::FILE_ID.into()),
            Source::Link(_) => None,
        },
        lesson_data: match &open.source {
            Source::Link(data) => Some(data.clone()),
            _ => None,
        },
        step: index as u32 + 1,
        ..ShellView::default()
    };
    let page = match &open.source {
        Source::BuiltIn(_) => String::new(),
        _ => open.lesson.steps[index].link.clone(),
    };
    let view = crate::shell::route::encode_view(&view);
    url::href_for(&if page.is_empty() { view } else { format!("{page}&{view}") })
}

/// Whether a key press belongs to what has focus (a slider, a field, a tab list) rather than to
/// the lesson.
fn typing(ev: &web_sys::KeyboardEvent) -> bool {
    let Some(el) = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else { return false };
    let tag = el.tag_name().to_ascii_lowercase();
    matches!(tag.as_str(), "input" | "select" | "textarea" | "button")
        && !(tag == "button" && el.closest("[data-testid=lesson-bar], [data-testid=notes]").ok().flatten().is_some())
        || el.closest("[role=tablist], [role=slider], [contenteditable], [role=dialog]").ok().flatten().is_some()
}

/// ←/→ and PageUp/PageDown (what a presentation clicker sends) move between steps.
pub fn keys(state: AppState, lessons: Lessons) {
    window_event_listener(ev::keydown, move |ev| {
        if ev.default_prevented() || ev.alt_key() || ev.ctrl_key() || ev.meta_key() || typing(&ev) {
            return;
        }
        let Some((open, index)) = lessons.current(state) else { return };
        let next = match ev.key().as_str() {
            "ArrowRight" | "PageDown" => index + 1,
            "ArrowLeft" | "PageUp" if index > 0 => index - 1,
            _ => return,
        };
        if next < open.lesson.steps.len() {
            ev.prevent_default();
            lessons.go(state, next, true);
        }
    });
}

/// The step's question: choices as buttons, or a number to commit; the answer and its
/// explanation appear once a guess is made.
#[component]
fn Ask(question: Question, index: usize, #[prop(optional)] teacher: bool) -> impl IntoView {
    let lessons = expect_context::<Lessons>();
    let guess = move || lessons.guesses.with(|g| g.get(&index).copied());
    let q = StoredValue::new(question);
    let typed = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let commit_number = move || {
        let text = typed.get_untracked();
        match text.trim().replace(',', ".").parse::<f64>() {
            Ok(v) if v.is_finite() => {
                problem.set(None);
                lessons.guess(index, v, true);
            }
            _ => problem.set(Some(format!("\"{}\" is not a number: type one, e.g. 2.5", text.trim()))),
        }
    };
    view! {
        <div class="lesson-question" data-testid="lesson-question">
            <p class="lesson-prompt"><strong>"Predict: "</strong>{q.with_value(|q| q.prompt.clone())}</p>
            {move || {
                let q = q.get_value();
                let made = guess();
                if q.is_choice() {
                    let choices = q.choices.iter().enumerate().map(|(i, c)| {
                        let chosen = made == Some(i as f64);
                        let right = made.is_some() && q.answer == i as f64;
                        view! {
                            <button
                                type="button"
                                class="lesson-choice"
                                class:chosen=chosen
                                class:right=right
                                data-testid="lesson-choice"
                                aria-pressed=if chosen { "true" } else { "false" }
                                disabled=made.is_some()
                                on:click=move |_| lessons.guess(index, i as f64, true)
                            >
                                {c.clone()}
                            </button>
                        }
                    }).collect::<Vec<_>>();
                    view! { <div class="lesson-choices" role="group" aria-label="Your guess">{choices}</div> }.into_any()
                } else if made.is_none() {
                    view! {
                        <form class="lesson-number" on:submit=move |e| { e.prevent_default(); commit_number(); }>
                            <label>
                                "Your guess"
                                <input
                                    type="text"
                                    inputmode="decimal"
                                    data-testid="lesson-number"
                                    prop:value=move || typed.get()
                                    on:input=move |e| typed.set(event_target_value(&e))
                                />
                                {(!q.unit.is_empty()).then(|| q.unit.clone())}
                            </label>
                            <button type="submit" data-testid="lesson-commit">"Commit guess"</button>
                            <span class="control-message" role="status">{move || problem.get()}</span>
                        </form>
                    }.into_any()
                } else {
                    view! { <p class="lesson-guess">{format!("Your guess: {}", made.unwrap_or_default())}</p> }.into_any()
                }
            }}
            {move || {
                let q = q.get_value();
                match guess() {
                    Some(g) => {
                        let verdict = if q.is_right(g) { "Right." } else { "Not quite." };
                        Some(view! {
                            <div class="lesson-answer" data-testid="lesson-answer" role="status">
                                <p><strong>{verdict}</strong>" The answer: "{q.answer_text()}</p>
                                {(!q.explain.is_empty()).then(|| view! { <p>{q.explain.clone()}</p> })}
                            </div>
                        }.into_any())
                    }
                    None if teacher => Some(view! {
                        <div class="lesson-answer teacher">
                            <p>"Answer (hidden from the class): "{q.answer_text()}</p>
                            <button type="button" data-testid="notes-reveal" on:click=move |_| lessons.guess(index, q.answer, true)>
                                "Reveal to the class"
                            </button>
                        </div>
                    }.into_any()),
                    None => Some(view! {
                        <p class="lesson-veil-note">"Commit a guess: the answer and the figure that settles it appear then."</p>
                    }.into_any()),
                }
            }}
        </div>
    }
}

/// Opens the speaker notes: this lesson in a second window that follows this one.
fn open_notes(state: AppState) {
    let mut view = state.view.get_untracked();
    view.notes = true;
    view.present = false;
    view.show = None;
    let link = url::href_for(&encode_shell(state.page.get_untracked(), &state.labs.get_untracked(), &view));
    if let Some(w) = web_sys::window() {
        let _ = w.open_with_url_and_target_and_features(&link, "softplay-notes", "popup,width=760,height=640");
    }
}

pub fn fullscreen() {
    if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
        if doc.fullscreen_element().is_some() {
            doc.exit_fullscreen();
        } else if let Some(root) = doc.document_element() {
            let _ = root.request_fullscreen();
        }
    }
}

/// The bar above the lab while a lesson runs.
#[component]
pub fn LessonBar() -> impl IntoView {
    let state = expect_context::<AppState>();
    let lessons = expect_context::<Lessons>();
    move || {
        let (open, index) = lessons.current(state)?;
        let folded = lessons.folded.get();
        let steps = open.lesson.steps.len();
        let step = open.lesson.steps[index].clone();
        let href = step_href(&open, index);
        let next_title = open.lesson.steps.get(index + 1).map(|s| s.title.clone());
        Some(view! {
            <section
                class="lesson-bar"
                data-testid="lesson-bar"
                data-lesson=open.key()
                data-step=index + 1
                data-steps=steps
                aria-label="Lesson"
            >
                <div class="lesson-head">
                    <a class="lesson-home" href=page_href(Page::Lessons) on:click=crate::shell::follow(Page::Lessons)>"Lessons"</a>
                    <span class="lesson-title">{open.lesson.title.clone()}</span>
                    <span class="lesson-count" aria-live="polite">{format!("Step {} of {steps}", index + 1)}</span>
                    <span class="lesson-nav">
                        <button
                            type="button"
                            data-testid="lesson-prev"
                            disabled={index == 0}
                            aria-keyshortcuts="ArrowLeft PageUp"
                            on:click=move |_| lessons.go(state, index - 1, true)
                        >
                            "← Back"
                        </button>
                        <button
                            type="button"
                            data-testid="lesson-next"
                            disabled={index + 1 >= steps}
                            aria-keyshortcuts="ArrowRight PageDown"
                            title=next_title.map(|t| format!("Next: {t}"))
                            on:click=move |_| lessons.go(state, index + 1, true)
                        >
                            "Next →"
                        </button>
                    </span>
                    <span class="lesson-tools">
                        <a href=href.clone() data-testid="lesson-step-link" title="This step's link: it opens the lesson here">"Step link"</a>
                        <button type="button" data-testid="speaker-notes" on:click=move |_| open_notes(state)>"Speaker notes"</button>
                        <button
                            type="button"
                            data-testid="lesson-fold"
                            aria-expanded=if folded { "false" } else { "true" }
                            title=if folded { "Show the step's text" } else { "Fold the step's text away, so that the figure moves up" }
                            on:click=move |_| lessons.folded.update(|f| *f = !*f)
                        >
                            {if folded { "Show text" } else { "Hide text" }}
                        </button>
                        <button type="button" data-testid="fullscreen" on:click=move |_| fullscreen()>"Fullscreen"</button>
                        <button type="button" data-testid="lesson-close" aria-label="Close the lesson" title="Close the lesson (the lab stays)" on:click=move |_| lessons.close(state)>"✕"</button>
                    </span>
                </div>
                <h2 class="lesson-step-title">{step.title.clone()}</h2>
                {(!folded).then(|| view! { <div class="lesson-text">{paragraphs(&step.text)}</div> })}
                {step.question.clone().map(|q| view! { <Ask question=q index=index/> })}
            </section>
        })
    }
}

/// Whether the step shown hides its figure until a guess is made.
pub fn veiled(state: AppState, lessons: Lessons) -> bool {
    let Some((open, index)) = lessons.current(state) else { return false };
    open.lesson.steps[index].question.is_some() && lessons.guesses.with(|g| !g.contains_key(&index))
}

/// The speaker notes window (`notes=1`): the step's text, its question with the answer, and the
/// next step, in step with the audience's window.
#[component]
pub fn Notes() -> impl IntoView {
    let state = expect_context::<AppState>();
    let lessons = expect_context::<Lessons>();
    let started = js_sys::Date::now();
    let elapsed = RwSignal::new(0u64);
    let tick = set_interval_with_handle(
        move || elapsed.set(((js_sys::Date::now() - started) / 1000.0) as u64),
        std::time::Duration::from_secs(1),
    );
    on_cleanup(move || {
        if let Ok(tick) = tick {
            tick.clear();
        }
    });
    move || {
        let Some((open, index)) = lessons.current(state) else {
            return view! {
                <section class="notes" data-testid="notes"><p role="status">{move || lessons.failed.get().unwrap_or_else(|| "Opening the lesson…".into())}</p></section>
            }.into_any();
        };
        let steps = open.lesson.steps.len();
        let step = open.lesson.steps[index].clone();
        let next = open.lesson.steps.get(index + 1).cloned();
        view! {
            <section class="notes" data-testid="notes" data-step=index + 1 data-steps=steps aria-label="Speaker notes">
                <div class="lesson-head">
                    <span class="lesson-title">{open.lesson.title.clone()}</span>
                    <span class="lesson-count">{format!("Step {} of {steps}", index + 1)}</span>
                    <span class="notes-clock">{move || format!("{}:{:02}", elapsed.get() / 60, elapsed.get() % 60)}</span>
                    <span class="lesson-nav">
                        <button type="button" data-testid="lesson-prev" disabled={index == 0} on:click=move |_| lessons.go(state, index - 1, true)>"← Back"</button>
                        <button type="button" data-testid="lesson-next" disabled={index + 1 >= steps} on:click=move |_| lessons.go(state, index + 1, true)>"Next →"</button>
                    </span>
                </div>
                <h1>{step.title.clone()}</h1>
                <div class="lesson-text">{paragraphs(&step.text)}</div>
                {step.question.clone().map(|q| view! { <Ask question=q index=index teacher=true/> })}
                <div class="notes-next">
                    <h2>"Next"</h2>
                    {match next {
                        Some(s) => view! { <p><strong>{s.title.clone()}</strong></p>{paragraphs(&s.text)} }.into_any(),
                        None => view! { <p>"This is the last step."</p> }.into_any(),
                    }}
                </div>
            </section>
        }.into_any()
    }
}
