//! Writing a lesson in the page: "add this view as a step" from any lab, then the text, a
//! question and the order in the editor; shared as a link while it fits 8 KB, else as a file.
//! The draft is kept in this browser (localStorage) after every change, so nothing is lost.

use leptos::prelude::*;

use super::{
    lesson_data, lesson_json,
    model::{Lesson, Question, Step, FORMAT},
    Lessons, OpenLesson, Source,
};
use crate::{
    labs::LABS,
    shell::{
        follow, loader,
        route::{encode_page, encode_view, Page, ShellView, LESSON_LINK_MAX},
        AppState,
    },
    state::url,
};

const DRAFT_KEY: &str = "softplay-lesson-draft";

/// The lesson being written, shared through context.
#[derive(Clone, Copy)]
pub struct Draft(pub RwSignal<Option<Lesson>>);

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

impl Draft {
    /// The draft kept in this browser, if any; it follows every change.
    pub fn provide() -> Self {
        let kept = storage().and_then(|s| s.get_item(DRAFT_KEY).ok().flatten()).and_then(|text| {
            let value = js_sys::JSON::parse(&text).ok()?;
            serde_wasm_bindgen::from_value::<Lesson>(value).ok()
        });
        let draft = Draft(RwSignal::new(kept));
        Effect::new(move |_| {
            let text = draft.0.with(|d| d.as_ref().map(lesson_json));
            if let Some(s) = storage() {
                let _ = match text {
                    Some(text) => s.set_item(DRAFT_KEY, &text),
                    None => s.remove_item(DRAFT_KEY),
                };
            }
        });
        provide_context(draft);
        draft
    }

    fn edit(&self, f: impl FnOnce(&mut Lesson)) {
        self.0.update(|d| {
            if let Some(d) = d {
                f(d);
            }
        });
    }
}

/// A lesson's id from its title: lower case, words joined by `-`.
fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out: String = out.trim_end_matches('-').chars().take(48).collect();
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "my-lesson".into()
    } else {
        out
    }
}

/// The draft as a finished lesson: its id from the title.
fn finished(draft: &Lesson) -> Lesson {
    let mut lesson = draft.clone();
    lesson.softplay_lesson = FORMAT;
    lesson.id = slug(&lesson.title);
    lesson
}

/// Adds the lab on screen, with its settings, as the draft's next step.
pub fn add_view(state: AppState, draft: Draft) -> Option<String> {
    let Page::Lab(lab) = state.page.get_untracked() else {
        return Some("open a lab first: a step is a lab's view".into());
    };
    // The lab's settings with the defaults dropped, so that the lesson's link stays short.
    let link = loader::short_query(lab.name)
        .unwrap_or_else(|| encode_page(state.page.get_untracked(), &state.labs.get_untracked()));
    let count = draft.0.with_untracked(|d| d.as_ref().map_or(0, |d| d.steps.len()));
    if count >= 40 {
        return Some("a lesson has at most 40 steps".into());
    }
    draft.edit(|d| {
        d.steps.push(Step {
            title: format!("{} view", lab.title),
            link,
            tab: shown_tab(),
            text: String::new(),
            question: None,
        })
    });
    None
}

/// The lab's secondary panel shown now.
fn shown_tab() -> Option<String> {
    web_sys::window()?.document()?.query_selector("[role=tab][aria-selected=true]").ok()??.get_attribute("data-tab")
}

/// On a lab's page while a lesson is being written: add the view as a step.
#[component]
pub fn DraftBar() -> impl IntoView {
    let state = expect_context::<AppState>();
    let draft = expect_context::<Draft>();
    let said = RwSignal::new(None::<String>);
    move || {
        let d = draft.0.get()?;
        if !matches!(state.page.get(), Page::Lab(_)) {
            return None;
        }
        let title = if d.title.is_empty() { "Untitled lesson".to_string() } else { d.title.clone() };
        Some(view! {
            <div class="draft-bar" data-testid="draft-bar">
                <span>{format!("Writing “{title}”: {} steps.", d.steps.len())}</span>
                <button type="button" data-testid="draft-add-step" on:click=move |_| {
                    said.set(Some(match add_view(state, draft) {
                        None => "Added: write its text on the Lessons page.".into(),
                        Some(why) => format!("Not added: {why}."),
                    }));
                }>"Add this view as a step"</button>
                <a href="?page=lessons" on:click=follow(Page::Lessons)>"Edit the lesson"</a>
                <span role="status">{move || said.get()}</span>
            </div>
        })
    }
}

fn value(ev: &leptos::ev::Event) -> String {
    event_target_value(ev)
}

/// One step in the editor.
#[component]
fn StepEditor(index: usize, step: Step, count: usize) -> impl IntoView {
    let draft = expect_context::<Draft>();
    let lab = step.link.split('&').next().unwrap_or_default().trim_start_matches("page=").to_string();
    let lab_title = LABS.iter().find(|l| l.name == lab).map_or("?", |l| l.title);
    let kind = match &step.question {
        None => "none",
        Some(q) if q.is_choice() => "choice",
        Some(_) => "number",
    };
    let q = step.question.clone().unwrap_or_default();
    let set_q = move |f: Box<dyn FnOnce(&mut Question)>| {
        draft.edit(|d| {
            if let Some(q) = d.steps[index].question.as_mut() {
                f(q);
            }
        })
    };
    view! {
        <li class="draft-step" data-testid="draft-step">
            <div class="draft-step-head">
                <strong>{format!("Step {}", index + 1)}</strong>
                <span class="hint">{format!("{lab_title} lab · ")}<a href=format!("?{}", step.link) target="_blank" rel="noopener">"open its view"</a></span>
                <button type="button" data-testid="draft-up" disabled={index == 0} aria-label=format!("Move step {} up", index + 1)
                    on:click=move |_| draft.edit(|d| d.steps.swap(index, index - 1))>"↑"</button>
                <button type="button" data-testid="draft-down" disabled={index + 1 >= count} aria-label=format!("Move step {} down", index + 1)
                    on:click=move |_| draft.edit(|d| d.steps.swap(index, index + 1))>"↓"</button>
                <button type="button" data-testid="draft-delete" aria-label=format!("Delete step {}", index + 1)
                    on:click=move |_| draft.edit(|d| { d.steps.remove(index); })>"Delete"</button>
            </div>
            <label>"Title"<input type="text" maxlength="80" data-testid="draft-step-title" prop:value=step.title.clone()
                on:change=move |e| { let v = value(&e); draft.edit(|d| d.steps[index].title = v) }/></label>
            <label>"Text"<textarea rows="3" maxlength="2000" data-testid="draft-step-text" prop:value=step.text.clone()
                on:change=move |e| { let v = value(&e); draft.edit(|d| d.steps[index].text = v) }></textarea></label>
            <label>"Question"
                <select data-testid="draft-question-kind" on:change=move |e| {
                    let v = value(&e);
                    draft.edit(|d| d.steps[index].question = match v.as_str() {
                        "choice" => Some(Question { choices: vec!["".into(), "".into()], ..Question::default() }),
                        "number" => Some(Question::default()),
                        _ => None,
                    })
                }>
                    <option value="none" selected=kind == "none">"None"</option>
                    <option value="choice" selected=kind == "choice">"Predict: a choice"</option>
                    <option value="number" selected=kind == "number">"Predict: a number"</option>
                </select>
            </label>
            {(kind != "none").then(|| view! {
                <label>"Prompt"<input type="text" maxlength="300" data-testid="draft-prompt" prop:value=q.prompt.clone()
                    on:change=move |e| { let v = value(&e); set_q(Box::new(move |q| q.prompt = v)) }/></label>
            })}
            {(kind == "choice").then(|| view! {
                <label>"Choices, one a line"<textarea rows="3" data-testid="draft-choices" prop:value=q.choices.join("\n")
                    on:change=move |e| { let v = value(&e); set_q(Box::new(move |q| q.choices = v.lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect())) }></textarea></label>
                <label>"The right one (1 = first)"<input type="number" min="1" max="6" data-testid="draft-answer" prop:value=(q.answer as usize + 1).to_string()
                    on:change=move |e| { let v = value(&e).parse::<f64>().unwrap_or(1.0); set_q(Box::new(move |q| q.answer = (v - 1.0).max(0.0))) }/></label>
            })}
            {(kind == "number").then(|| view! {
                <label>"Answer"<input type="text" inputmode="decimal" data-testid="draft-answer" prop:value=q.answer.to_string()
                    on:change=move |e| { let v = value(&e).parse::<f64>().unwrap_or(f64::NAN); set_q(Box::new(move |q| q.answer = v)) }/></label>
                <label>"Unit"<input type="text" maxlength="20" prop:value=q.unit.clone()
                    on:change=move |e| { let v = value(&e); set_q(Box::new(move |q| q.unit = v)) }/></label>
            })}
            {(kind != "none").then(|| view! {
                <label>"Why (shown with the answer)"<textarea rows="2" maxlength="600" prop:value=q.explain.clone()
                    on:change=move |e| { let v = value(&e); set_q(Box::new(move |q| q.explain = v)) }></textarea></label>
            })}
        </li>
    }
}

/// The lesson editor on the Lessons page.
#[component]
pub fn Editor() -> impl IntoView {
    let state = expect_context::<AppState>();
    let lessons = expect_context::<Lessons>();
    let draft = expect_context::<Draft>();
    let said = RwSignal::new(None::<Result<String, String>>);
    let link = RwSignal::new(None::<String>);
    // Checks the draft; on a problem, says which.
    let checked = move || -> Option<Lesson> {
        let lesson = finished(&draft.0.get_untracked()?);
        match lesson.check() {
            Ok(()) => Some(lesson),
            Err(e) => {
                said.set(Some(Err(format!("Not yet: {}.", e.0))));
                link.set(None);
                None
            }
        }
    };
    let share = move |_| {
        let Some(lesson) = checked() else { return };
        let view = ShellView { lesson_data: Some(lesson_data(&lesson)), step: 1, ..ShellView::default() };
        let query = format!("{}&{}", lesson.steps[0].link, encode_view(&view));
        let href = url::href_for(&query);
        if href.len() > LESSON_LINK_MAX {
            said.set(Some(Err(format!(
                "This lesson needs a link of {} characters, more than the {LESSON_LINK_MAX} that every browser and chat keeps whole: download it as a file and share the file.",
                href.len()
            ))));
            link.set(None);
        } else {
            said.set(Some(Ok(format!("The lesson's link ({} characters) opens it at step 1:", href.len()))));
            link.set(Some(href.clone()));
            if let Some(w) = web_sys::window() {
                let _ = w.navigator().clipboard().write_text(&href);
            }
        }
    };
    let download = move |_| {
        let Some(lesson) = checked() else { return };
        if let Err(why) = crate::components::export::download_text(
            &lesson_json(&lesson),
            "application/json",
            &format!("{}.json", lesson.id),
        ) {
            said.set(Some(Err(format!("The file could not be made: {why}."))));
            return;
        }
        said.set(Some(Ok(format!("Downloaded {}.json: open it here with “Open a lesson file”.", lesson.id))));
    };
    let try_it = move |_| {
        let Some(lesson) = checked() else { return };
        let data = lesson_data(&lesson);
        lessons.start(state, OpenLesson { source: Source::Link(data), lesson });
    };
    view! {
        <div class="lesson-editor" data-testid="lesson-editor">
            {move || match draft.0.get() {
                None => view! {
                    <p>"Build a lesson from views of the labs: set a lab up, press “Add this view as a step”, then write what to look at."</p>
                    <button type="button" data-testid="lesson-new" on:click=move |_| draft.0.set(Some(Lesson {
                        softplay_lesson: FORMAT, title: String::new(), ..Lesson::default()
                    }))>"Write a lesson"</button>
                }.into_any(),
                Some(d) => {
                    let count = d.steps.len();
                    view! {
                        <label>"Title"<input type="text" maxlength="120" data-testid="draft-title" prop:value=d.title.clone()
                            on:change=move |e| { let v = value(&e); draft.edit(|d| d.title = v) }/></label>
                        <label>"For whom"<input type="text" maxlength="200" data-testid="draft-audience" prop:value=d.audience.clone()
                            on:change=move |e| { let v = value(&e); draft.edit(|d| d.audience = v) }/></label>
                        {(count == 0).then(|| view! { <p class="hint">"No steps yet: open a lab and press “Add this view as a step” in the bar above it."</p> })}
                        <ol class="draft-steps">
                            {d.steps.into_iter().enumerate().map(|(i, s)| view! { <StepEditor index=i step=s count=count/> }).collect::<Vec<_>>()}
                        </ol>
                        <div class="draft-actions">
                            <button type="button" data-testid="draft-try" on:click=try_it>"Try it"</button>
                            <button type="button" data-testid="draft-share" on:click=share>"Share as a link"</button>
                            <button type="button" data-testid="draft-download" on:click=download>"Download the file"</button>
                            <button type="button" data-testid="draft-discard" on:click=move |_| {
                                let ok = web_sys::window().and_then(|w| w.confirm_with_message("Discard this lesson? It cannot be brought back.").ok()).unwrap_or(false);
                                if ok { draft.0.set(None); said.set(None); link.set(None); }
                            }>"Discard"</button>
                        </div>
                    }.into_any()
                }
            }}
            {move || said.get().map(|s| match s {
                Ok(text) => view! { <p role="status" data-testid="draft-said">{text}</p> }.into_any(),
                Err(text) => view! { <p class="notice notice-error" role="alert" data-testid="draft-said">{text}</p> }.into_any(),
            })}
            {move || link.get().map(|href| view! { <input type="text" readonly class="draft-link" data-testid="draft-link" prop:value=href/> })}
        </div>
    }
}
