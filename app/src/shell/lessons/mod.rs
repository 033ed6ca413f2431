//! Lessons: a guided path through an idea, run inside the labs themselves. A lesson is data
//! ([`model::Lesson`], one file per lesson in `www/lessons/`, or a teacher's own from a file or a
//! link); each step sets a lab's state through the shell's own URL keeping, so a step is exactly
//! what its link opens. The bar above the lab ([`play::LessonBar`]) shows the text and the
//! "predict, then reveal" question; ←/→ and PageUp/PageDown (presentation clickers) move between
//! steps; a presenter's windows stay in step over a BroadcastChannel (same machine, no server).

pub mod author;
pub mod index;
pub mod model;
pub mod play;

use std::collections::BTreeMap;

use leptos::prelude::*;
use serde::Serialize as _;
use wasm_bindgen::{prelude::*, JsCast};

use self::model::{step_lab, Lesson};
use super::{notices::NoticeKind, route::Page, AppState};
use crate::worker::client::versioned;

/// Where the open lesson came from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// `www/lessons/<id>.json`.
    BuiltIn(String),
    /// Carried in the link (`lessondata=`).
    Link(String),
    /// A file the person opened, kept in this browser (`lesson=file`).
    File(String),
}

/// The open lesson.
#[derive(Clone, Debug, PartialEq)]
pub struct OpenLesson {
    pub source: Source,
    pub lesson: Lesson,
}

impl OpenLesson {
    /// Names the lesson across windows (the speaker notes follow the same one).
    pub fn key(&self) -> String {
        match &self.source {
            Source::BuiltIn(id) => id.clone(),
            Source::Link(data) => format!("link:{}:{}", self.lesson.id, data.len()),
            Source::File(name) => format!("file:{name}"),
        }
    }
}

/// The id `lesson=` gives a lesson opened from a file (a built-in lesson never has it).
pub const FILE_ID: &str = "file";
const FILE_KEY: &str = "softplay-lesson-file";
const CHANNEL: &str = "softplay-lesson";

/// The lessons' state, shared through context. `Copy`: arena handles.
#[derive(Clone, Copy)]
pub struct Lessons {
    pub open: RwSignal<Option<OpenLesson>>,
    /// Each step's committed guess (a choice's index or a number), by step index.
    pub guesses: RwSignal<BTreeMap<usize, f64>>,
    /// Why the requested lesson could not be opened.
    pub failed: RwSignal<Option<String>>,
    /// The step's text folded away (its question stays), so that the figure moves up.
    pub folded: RwSignal<bool>,
    channel: StoredValue<Option<web_sys::BroadcastChannel>, LocalStorage>,
}

impl Lessons {
    pub fn new() -> Self {
        Lessons {
            open: RwSignal::new(None),
            guesses: RwSignal::new(BTreeMap::new()),
            failed: RwSignal::new(None),
            folded: RwSignal::new(false),
            channel: StoredValue::new_local(None),
        }
    }

    /// The open lesson's step shown now (from 0), with the lesson.
    pub fn current(&self, state: AppState) -> Option<(OpenLesson, usize)> {
        let open = self.open.get()?;
        let step = (state.view.with(|v| v.step) as usize).clamp(1, open.lesson.steps.len()) - 1;
        Some((open, step))
    }

    /// Shows step `index` (from 0) of the open lesson: its lab with the step's settings, in a new
    /// history entry. The other windows of the presenter follow unless this came from them.
    pub fn go(&self, state: AppState, index: usize, tell_others: bool) {
        let Some(open) = self.open.get_untracked() else { return };
        let Some(step) = open.lesson.steps.get(index) else { return };
        let Ok(page) = step_lab(&step.link) else { return };
        if let Page::Lab(lab) = page {
            state.labs.update(|labs| labs.keep(lab, &step.link));
        }
        state.view.update(|v| v.step = index as u32 + 1);
        if state.view.with_untracked(|v| v.notes) {
            // The speaker notes window shows no lab: it keeps its page and only follows.
            state.replace_url();
        } else {
            state.navigate(page);
            show_tab(step.tab.clone());
        }
        if tell_others {
            self.tell(&open, index, self.guesses.with_untracked(|g| g.get(&index).copied()));
        }
    }

    /// Commits a guess for step `index`; the presenter's other windows reveal it too.
    pub fn guess(&self, index: usize, guess: f64, tell_others: bool) {
        self.guesses.update(|g| {
            g.insert(index, guess);
        });
        if tell_others {
            if let Some(open) = self.open.get_untracked() {
                self.tell(&open, index, Some(guess));
            }
        }
    }

    fn tell(&self, open: &OpenLesson, index: usize, guess: Option<f64>) {
        self.channel.with_value(|c| {
            if let Some(c) = c {
                let guess = guess.map(|g| g.to_string()).unwrap_or_default();
                let _ = c.post_message(&format!("{}\n{index}\n{guess}", open.key()).into());
            }
        });
    }

    /// Listens to the presenter's other windows: a move or a reveal there happens here too.
    fn listen(&self, state: AppState) {
        let Ok(channel) = web_sys::BroadcastChannel::new(CHANNEL) else { return };
        let lessons = *self;
        let on_message = Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
            let Some(text) = ev.data().as_string() else { return };
            let mut parts = text.split('\n');
            let (Some(key), Some(index), Some(guess)) = (parts.next(), parts.next(), parts.next()) else { return };
            let Ok(index) = index.parse::<usize>() else { return };
            if lessons.open.with_untracked(|o| o.as_ref().map(OpenLesson::key)).as_deref() != Some(key) {
                return;
            }
            if let Ok(guess) = guess.parse::<f64>() {
                lessons.guess(index, guess, false);
            }
            if state.view.with_untracked(|v| v.step as usize) != index + 1 {
                lessons.go(state, index, false);
            }
        });
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();
        self.channel.set_value(Some(channel));
    }

    /// Closes the lesson: the lab stays as it is.
    pub fn close(&self, state: AppState) {
        self.open.set(None);
        self.failed.set(None);
        state.view.update(|v| {
            v.lesson = None;
            v.lesson_data = None;
            v.step = 1;
            v.notes = false;
        });
        state.replace_url();
    }

    /// Opens `lesson` (checked) at step 1.
    pub fn start(&self, state: AppState, open: OpenLesson) {
        state.view.update(|v| {
            v.lesson = None;
            v.lesson_data = None;
            match &open.source {
                Source::BuiltIn(id) => v.lesson = Some(id.clone()),
                Source::Link(data) => v.lesson_data = Some(data.clone()),
                Source::File(_) => v.lesson = Some(FILE_ID.into()),
            }
        });
        self.guesses.set(BTreeMap::new());
        self.failed.set(None);
        self.open.set(Some(open));
        self.go(state, 0, true);
    }
}

impl Default for Lessons {
    fn default() -> Self {
        Self::new()
    }
}

/// Fetches a file of the site as text.
pub async fn fetch_text(path: &str) -> Result<String, String> {
    let window = web_sys::window().ok_or("no window")?;
    let response = wasm_bindgen_futures::JsFuture::from(window.fetch_with_str(&versioned(path)))
        .await
        .map_err(|_| format!("{path} could not be fetched (offline, and not kept yet?)"))?;
    let response: web_sys::Response = response.dyn_into().map_err(|_| "not a response")?;
    if !response.ok() {
        return Err(format!("{path} answered HTTP {}", response.status()));
    }
    let text = response.text().map_err(|_| "no text")?;
    let text = wasm_bindgen_futures::JsFuture::from(text).await.map_err(|_| format!("{path} could not be read"))?;
    text.as_string().ok_or_else(|| format!("{path} is not text"))
}

/// Reads a lesson from its JSON text and holds it to the format's rules; `name` says where it
/// came from in the message.
pub fn parse_lesson(name: &str, text: &str) -> Result<Lesson, String> {
    let value = js_sys::JSON::parse(text).map_err(|e| {
        let why = e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).unwrap_or_default();
        format!("{name} is not JSON ({why})")
    })?;
    let lesson: Lesson = serde_wasm_bindgen::from_value(value).map_err(|e| format!("{name} is not a lesson: {e}"))?;
    lesson.check().map_err(|e| format!("{name}: {}", e.0))?;
    Ok(lesson)
}

/// The lesson as JSON, indented, for a file.
pub fn lesson_json(lesson: &Lesson) -> String {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    lesson
        .serialize(&serializer)
        .ok()
        .and_then(|v| js_sys::JSON::stringify_with_replacer_and_space(&v, &JsValue::NULL, &JsValue::from(2)).ok())
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}
/// The lesson as it travels in a link: base64url (no padding) of its compact JSON.
pub fn lesson_data(lesson: &Lesson) -> String {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    let json = lesson
        .serialize(&serializer)
        .ok()
        .and_then(|v| js_sys::JSON::stringify(&v).ok())
        .and_then(|s| s.as_string())
        .unwrap_or_default();
    base64url_encode(json.as_bytes())
}

/// The lesson a `lessondata=` carries.
pub fn lesson_from_data(data: &str) -> Result<Lesson, String> {
    let bytes = base64url_decode(data).ok_or("the lesson in the link (lessondata=) is not base64url")?;
    let text = String::from_utf8(bytes).map_err(|_| "the lesson in the link (lessondata=) is not UTF-8 text")?;
    parse_lesson("the lesson in the link", &text)
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64url without padding (RFC 4648 §5). A dozen lines, so no crate for it.
pub fn base64url_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

pub fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (bits < 6 && acc == 0).then_some(out)
}

/// Keeps a lesson opened from a file in this browser, so that a reload finds it.
pub fn keep_file(name: &str, text: &str) {
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = storage.set_item(FILE_KEY, &format!("{name}\n{text}"));
    }
}

fn kept_file() -> Option<(String, String)> {
    let stored = web_sys::window()?.local_storage().ok().flatten()?.get_item(FILE_KEY).ok().flatten()?;
    let (name, text) = stored.split_once('\n')?;
    Some((name.to_string(), text.to_string()))
}

/// Opens the lesson the URL names (after the page read it), at the URL's step. A link that names
/// only the lesson (`?lesson=x&step=3`) shows that step's lab; a link with a lab's settings keeps
/// them (the person's own changes).
pub fn open_from_url(state: AppState, lessons: Lessons) {
    let view = state.view.get_untracked();
    if !view.has_lesson() {
        lessons.open.set(None);
        return;
    }
    let wanted = match (&view.lesson, &view.lesson_data) {
        (Some(id), _) if id == FILE_ID => kept_file().map(|(name, _)| Source::File(name)),
        (Some(id), _) => Some(Source::BuiltIn(id.clone())),
        (None, Some(data)) => Some(Source::Link(data.clone())),
        (None, None) => None,
    };
    let Some(wanted) = wanted else {
        let why = "lesson=file names a lesson file opened in this browser, and none is kept here: open the file again from Lessons".to_string();
        state.notify(NoticeKind::Link, why.clone());
        lessons.failed.set(Some(why));
        return;
    };
    if lessons.open.with_untracked(|o| o.as_ref().map(|o| &o.source) == Some(&wanted)) {
        arrive(state, lessons);
        return;
    }
    leptos::task::spawn_local(async move {
        let read = match &wanted {
            Source::BuiltIn(id) => match fetch_text(&format!("lessons/{id}.json")).await {
                Ok(text) => parse_lesson(&format!("lesson {id}"), &text),
                Err(_) => Err(format!("there is no lesson {id}: see the Lessons page for the lessons there are")),
            },
            Source::Link(data) => lesson_from_data(data),
            Source::File(_) => {
                let (name, text) = kept_file().unwrap_or_default();
                parse_lesson(&name, &text)
            }
        };
        match read {
            Ok(lesson) => {
                lessons.guesses.set(BTreeMap::new());
                lessons.failed.set(None);
                lessons.open.set(Some(OpenLesson { source: wanted, lesson }));
                arrive(state, lessons);
            }
            Err(why) => {
                state.notify(NoticeKind::Link, format!("{why}; nothing else was changed"));
                lessons.failed.set(Some(why));
                lessons.open.set(None);
            }
        }
    });
}

/// After opening a link's lesson: a step beyond the lesson is named; a link without a lab's
/// settings shows the step's lab.
fn arrive(state: AppState, lessons: Lessons) {
    let Some(open) = lessons.open.get_untracked() else { return };
    let steps = open.lesson.steps.len();
    let asked = state.view.with_untracked(|v| v.step) as usize;
    if asked > steps {
        state.notify(
            NoticeKind::Link,
            format!(
                "ignored step={asked}: the lesson \"{}\" has steps 1..{steps}; showing step {steps}",
                open.lesson.title
            ),
        );
    }
    let index = asked.clamp(1, steps) - 1;
    let on_lab = matches!(state.page.get_untracked(), Page::Lab(_));
    if state.view.with_untracked(|v| v.notes) || on_lab {
        state.view.update(|v| v.step = index as u32 + 1);
        state.replace_url();
    } else {
        // `?lesson=x&step=3`: the step's own state, in place of the link's entry.
        let step = &open.lesson.steps[index];
        if let Ok(page) = step_lab(&step.link) {
            if let Page::Lab(lab) = page {
                state.labs.update(|labs| labs.keep(lab, &step.link));
            }
            state.view.update(|v| v.step = index as u32 + 1);
            state.page.set(page);
            state.replace_url();
            show_tab(step.tab.clone());
        }
    }
}

/// Shows the lab's panel `tab` (a step's), once the lab is there: it may still be loading, so
/// the shell looks for the tab on each frame for about ten seconds.
pub fn show_tab(tab: Option<String>) {
    fn attempt(tab: String, frames_left: u32) {
        let found = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector(&format!("[role=tab][data-tab=\"{tab}\"]")).ok().flatten())
            .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok());
        match found {
            Some(el) if el.get_attribute("aria-selected").as_deref() != Some("true") => el.click(),
            Some(_) => {}
            None if frames_left > 0 => request_animation_frame(move || attempt(tab, frames_left - 1)),
            None => {}
        }
    }
    // The name was checked (a–z, 0–9, -), so it is safe in a selector.
    if let Some(tab) = tab {
        attempt(tab, 600);
    }
}

/// Starts listening to the presenter's other windows and follows the URL's lesson.
pub fn provide(state: AppState) -> Lessons {
    let lessons = Lessons::new();
    lessons.listen(state);
    provide_context(lessons);
    lessons
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_round_trips_every_length() {
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let text = base64url_encode(&bytes);
            assert!(!text.contains('=') && !text.contains('+') && !text.contains('/'));
            assert_eq!(base64url_decode(&text), Some(bytes));
        }
        assert_eq!(base64url_encode(b"Softplay"), "U29mdHBsYXk");
        assert_eq!(base64url_decode("U29mdHBsYXk"), Some(b"Softplay".to_vec()));
        assert_eq!(base64url_decode("U29$"), None);
        assert_eq!(base64url_decode("U"), None);
    }
}
