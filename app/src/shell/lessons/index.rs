//! The Lessons page: the lessons that come with Softplay (`www/lessons/index.json`), opening a
//! lesson file, and the editor for a lesson of one's own.

use leptos::prelude::*;
use serde::Deserialize;
use wasm_bindgen::JsCast;

use super::{author::Editor, fetch_text, keep_file, model::Lesson, parse_lesson, Lessons, OpenLesson, Source};
use crate::{labs::LABS, shell::AppState};

#[derive(Deserialize)]
struct Index {
    lessons: Vec<String>,
}

/// A lesson file is at most this large.
const FILE_MAX_BYTES: f64 = 1_000_000.0;

/// The labs a lesson visits, in its order.
fn labs_of(lesson: &Lesson) -> String {
    let mut titles: Vec<&str> = Vec::new();
    for step in &lesson.steps {
        let name = step.link.split('&').next().unwrap_or_default().trim_start_matches("page=");
        if let Some(lab) = LABS.iter().find(|l| l.name == name) {
            if !titles.contains(&lab.title) {
                titles.push(lab.title);
            }
        }
    }
    titles.join(", ")
}

async fn built_in() -> Result<Vec<Result<Lesson, String>>, String> {
    let text = fetch_text("lessons/index.json").await?;
    let value = js_sys::JSON::parse(&text).map_err(|_| "lessons/index.json is not JSON".to_string())?;
    let index: Index = serde_wasm_bindgen::from_value(value).map_err(|e| format!("lessons/index.json: {e}"))?;
    let mut out = Vec::new();
    for id in index.lessons {
        out.push(match fetch_text(&format!("lessons/{id}.json")).await {
            Ok(text) => parse_lesson(&format!("lessons/{id}.json"), &text),
            Err(e) => Err(e),
        });
    }
    Ok(out)
}

#[component]
pub fn LessonsPage() -> impl IntoView {
    let state = expect_context::<AppState>();
    let lessons = expect_context::<Lessons>();
    // None while the lessons are fetched.
    let list = RwSignal::new(None::<Result<Vec<Result<Lesson, String>>, String>>);
    leptos::task::spawn_local(async move {
        let read = built_in().await;
        if !list.is_disposed() {
            list.set(Some(read));
        }
    });
    let file_error = RwSignal::new(None::<String>);
    let on_file = move |ev: leptos::ev::Event| {
        let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else { return };
        let Some(file) = input.files().and_then(|f| f.get(0)) else { return };
        input.set_value("");
        let name = file.name();
        if file.size() > FILE_MAX_BYTES {
            file_error.set(Some(format!(
                "{name} is {:.1} MB: a lesson file is at most 1 MB. Nothing was changed.",
                file.size() / 1e6
            )));
            return;
        }
        leptos::task::spawn_local(async move {
            let text = wasm_bindgen_futures::JsFuture::from(file.text()).await.ok().and_then(|t| t.as_string());
            let read = text
                .ok_or_else(|| format!("{name} could not be read as text"))
                .and_then(|text| parse_lesson(&name, &text).map(|lesson| (lesson, text)));
            match read {
                Ok((lesson, text)) => {
                    file_error.set(None);
                    keep_file(&name, &text);
                    lessons.start(state, OpenLesson { source: Source::File(name), lesson });
                }
                Err(why) => file_error.set(Some(format!("{why}. Nothing was changed."))),
            }
        });
    };
    view! {
        <section class="lessons-page" aria-labelledby="lessons-title">
            <h1 id="lessons-title">"Lessons"</h1>
            <p class="lead">
                "A lesson walks through one idea in the labs themselves: each step sets a lab, says what to look at, \
                 and often asks you to predict what the figure will show before it appears. Move with ← and →, \
                 or PageUp and PageDown (a presentation clicker)."
            </p>
            {move || match list.get() {
                None => view! { <p role="status">"Loading the lessons…"</p> }.into_any(),
                Some(read) => match read {
                    Ok(all) => view! {
                        <ul class="cards lesson-cards">
                            {all.into_iter().map(|lesson| match lesson {
                                Ok(lesson) => {
                                    let id = lesson.id.clone();
                                    let href = format!("?lesson={id}&step=1");
                                    let labs = labs_of(&lesson);
                                    let steps = lesson.steps.len();
                                    let asks = lesson.steps.iter().filter(|s| s.question.is_some()).count();
                                    let start = lesson.clone();
                                    view! {
                                        <li class="card" data-testid="lesson-card">
                                            <a
                                                href=href
                                                data-lesson=id.clone()
                                                on:click=move |e: web_sys::MouseEvent| {
                                                    if e.button() != 0 || e.ctrl_key() || e.meta_key() || e.shift_key() { return; }
                                                    e.prevent_default();
                                                    lessons.start(state, OpenLesson { source: Source::BuiltIn(id.clone()), lesson: start.clone() });
                                                }
                                            >
                                                <h2>{lesson.title.clone()}</h2>
                                                <p>{lesson.summary.clone()}</p>
                                                <p class="lesson-meta">{format!("{labs} · {steps} steps, {asks} to predict")}</p>
                                                <p class="lesson-meta">{format!("For: {}", lesson.audience)}</p>
                                            </a>
                                        </li>
                                    }.into_any()
                                }
                                Err(why) => view! { <li class="card notice-error" role="alert">{why}</li> }.into_any(),
                            }).collect::<Vec<_>>()}
                        </ul>
                    }.into_any(),
                    Err(why) => view! { <p class="notice notice-error" role="alert">{format!("The lessons could not be listed: {why}")}</p> }.into_any(),
                },
            }}
            <h2>"Your own lesson"</h2>
            <div class="lesson-open">
                <label class="file-button">
                    "Open a lesson file…"
                    <input type="file" accept=".json,application/json" data-testid="lesson-file" on:change=on_file/>
                </label>
                <p class="hint">"A lesson file is JSON (format: docs/LESSONS.md in the source); it stays in this browser."</p>
                {move || file_error.get().map(|why| view! { <p class="notice notice-error" role="alert" data-testid="lesson-error">{why}</p> })}
            </div>
            <Editor/>
        </section>
    }
}
