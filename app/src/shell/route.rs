//! The page a URL names, the shell's own view settings, and the shell's keeping of each lab's
//! query.
//!
//! The shell reads `page=` and its view keys ([`VIEW_KEYS`]: lesson, presenter and embed): a
//! lab's settings are read and checked by the lab's own module (it names every value it cannot
//! use), so the shell keeps the rest of a lab's query as written and carries no lab's codec.

use std::collections::BTreeMap;

use crate::{
    labs::{LabEntry, LABS},
    state::codec::{parse_query, FlagParam, IntParam, Notice, QueryReader, QueryWriter},
};

/// The page the URL shows: home, a lab of the registry, or About.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    Home,
    Lab(&'static LabEntry),
    Lessons,
    About,
}

impl Page {
    /// Every page, in the navigation's order.
    pub fn all() -> impl Iterator<Item = Page> {
        std::iter::once(Page::Home).chain(LABS.iter().map(Page::Lab)).chain([Page::Lessons, Page::About])
    }

    /// The `page=` value.
    pub fn name(self) -> &'static str {
        match self {
            Page::Home => "home",
            Page::Lab(lab) => lab.name,
            Page::Lessons => "lessons",
            Page::About => "about",
        }
    }

    /// The name shown in the navigation and the title.
    pub fn label(self) -> &'static str {
        match self {
            Page::Home => "Home",
            Page::Lab(lab) => lab.title,
            Page::Lessons => "Lessons",
            Page::About => "About",
        }
    }
}

/// Each lab's query (without `?`) as the lab last wrote it, or as the link gave it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LabQueries(BTreeMap<&'static str, String>);

impl LabQueries {
    /// Keeps `query` as the settings of `lab`.
    pub fn keep(&mut self, lab: &'static LabEntry, query: &str) {
        self.0.insert(lab.name, query.trim_start_matches('?').to_string());
    }

    pub fn get(&self, lab: &LabEntry) -> Option<&str> {
        self.0.get(lab.name).map(String::as_str).filter(|q| !q.is_empty())
    }
}

/// The keys the shell reads itself, whatever the page: they choose how the page is shown
/// (a lesson and its step, presenter mode, an embedded panel), never a lab's settings.
pub const VIEW_KEYS: [&str; 8] = ["lesson", "lessondata", "step", "present", "show", "embed", "panel", "notes"];

/// The most steps a lesson has (docs/LESSONS.md).
pub const LESSON_MAX_STEPS: u32 = 40;
const STEP: IntParam = IntParam { key: "step", label: "Lesson step", min: 1, max: LESSON_MAX_STEPS, unit: "" };
const PRESENT: FlagParam = FlagParam { key: "present", label: "Presenter mode" };
const EMBED: FlagParam = FlagParam { key: "embed", label: "Embedded panel" };
const NOTES: FlagParam = FlagParam { key: "notes", label: "Speaker notes" };
/// The most controls a `show=` list names.
pub const SHOW_MAX: usize = 64;

/// How the page is shown: the shell's own keys of the link.
#[derive(Clone, Debug, PartialEq)]
pub struct ShellView {
    /// A built-in lesson's id (`lesson=`).
    pub lesson: Option<String>,
    /// A lesson carried in the link itself (`lessondata=`, base64url of its JSON).
    pub lesson_data: Option<String>,
    /// The lesson's step, from 1.
    pub step: u32,
    /// Presenter mode: large type, thick lines, high contrast.
    pub present: bool,
    /// The only controls shown (`show=n,d`: the controls' URL keys); `None` shows all.
    pub show: Option<Vec<String>>,
    /// One panel alone, for an iframe.
    pub embed: bool,
    /// The embedded panel: `main` or a lab's tab (`sweep`).
    pub panel: Option<String>,
    /// The speaker notes window of a lesson.
    pub notes: bool,
}

impl Default for ShellView {
    fn default() -> Self {
        ShellView {
            lesson: None,
            lesson_data: None,
            step: 1,
            present: false,
            show: None,
            embed: false,
            panel: None,
            notes: false,
        }
    }
}

impl ShellView {
    /// A lesson is open (by id or carried in the link).
    pub fn has_lesson(&self) -> bool {
        self.lesson.is_some() || self.lesson_data.is_some()
    }
}

/// A name in a link the shell uses as a selector or a file name: 1–48 of `a–z`, `0–9`, `-`, `_`.
pub fn is_name(text: &str) -> bool {
    (1..=48).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Splits a query into the lab's part (as written) and the shell's view keys (decoded pairs).
fn split_view(query: &str) -> (String, Vec<(String, String)>) {
    let mut lab = Vec::new();
    let mut view = Vec::new();
    for part in query.trim_start_matches('?').split('&').filter(|p| !p.is_empty()) {
        let pair = parse_query(part).pop().unwrap_or_default();
        if VIEW_KEYS.contains(&pair.0.as_str()) {
            view.push(pair);
        } else {
            lab.push(part);
        }
    }
    (lab.join("&"), view)
}

/// Reads the shell's view keys; every value it cannot use is named.
fn read_view(pairs: Vec<(String, String)>) -> (ShellView, Vec<Notice>) {
    let mut q = QueryReader::new(pairs);
    let mut view = ShellView::default();
    if let Some(id) = q.take("lesson") {
        if is_name(&id) {
            view.lesson = Some(id);
        } else {
            q.note(format!(
                "ignored lesson={}: a lesson's name is 1–48 of a–z, 0–9 and -; no lesson opened",
                short(&id)
            ));
        }
    }
    if let Some(data) = q.take("lessondata") {
        if view.lesson.is_some() {
            q.note("ignored lessondata=…: the link also names lesson=; that lesson is opened".into());
        } else if data.is_empty()
            || data.len() > LESSON_LINK_MAX
            || !data.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            q.note(format!(
                "ignored lessondata= ({} characters): must be a lesson as base64url, at most {LESSON_LINK_MAX} characters; no lesson opened",
                data.len()
            ));
        } else {
            view.lesson_data = Some(data);
        }
    }
    view.step = q.int(&STEP, 1);
    view.present = q.flag(&PRESENT, false);
    if let Some(list) = q.take("show") {
        let keys: Vec<String> = list.split(',').map(|k| k.trim().to_string()).filter(|k| !k.is_empty()).collect();
        let (good, bad): (Vec<String>, Vec<String>) = keys.into_iter().partition(|k| is_name(k));
        for k in &bad {
            q.note(format!("ignored show=…{}…: a control's name is 1–48 of a–z, 0–9, - and _", short(k)));
        }
        if good.len() > SHOW_MAX {
            q.note(format!("show= names {} controls: at most {SHOW_MAX}; the first {SHOW_MAX} are shown", good.len()));
        }
        view.show = Some(good.into_iter().take(SHOW_MAX).collect());
    }
    view.embed = q.flag(&EMBED, false);
    if let Some(panel) = q.take("panel") {
        if !view.embed {
            q.note(format!("ignored panel={}: a panel is chosen for an embed (embed=1)", short(&panel)));
        } else if is_name(&panel) {
            view.panel = Some(panel);
        } else {
            q.note(format!("ignored panel={}: a panel's name is 1–48 of a–z, 0–9 and -; showing main", short(&panel)));
        }
    }
    view.notes = q.flag(&NOTES, false);
    if view.notes && !view.has_lesson() {
        q.note("ignored notes=1: speaker notes belong to a lesson (lesson=)".into());
        view.notes = false;
    }
    let notes = q.finish("the page");
    (view, notes)
}

/// The longest `lessondata=` a link carries: 8 KB of link in all (docs/LESSONS.md).
pub const LESSON_LINK_MAX: usize = 8000;

fn short(text: &str) -> String {
    if text.chars().count() <= 40 {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(40).collect::<String>())
    }
}

/// Reads a URL: the page it names (an unknown one is named, and home shown) and the shell's view
/// keys; a lab's query is kept as written. Returns the page, the view, and the notices of what
/// the shell itself could not use.
pub fn decode_shell(query: &str, queries: &mut LabQueries) -> (Page, ShellView, Vec<Notice>) {
    let (lab_query, view_pairs) = split_view(query);
    let (view, mut notes) = read_view(view_pairs);
    let mut q = QueryReader::from_query(&lab_query);
    let pages: Vec<Page> = Page::all().collect();
    let names: Vec<&str> = pages.iter().map(|p| p.name()).collect();
    let page = pages[q.one_of("page", &names, 0)];
    let mut page_notes = match page {
        Page::Lab(lab) => {
            // The lab reads its query whole and names everything it cannot use (a repeated
            // `page=` too), so the shell says nothing of it.
            queries.keep(lab, &lab_query);
            Vec::new()
        }
        Page::Home => q.finish("the home page"),
        Page::Lessons => q.finish("the Lessons page"),
        Page::About => q.finish("the About page"),
    };
    page_notes.append(&mut notes);
    (page, view, page_notes)
}

/// The view keys of a link, in a fixed order; only those that differ from the plain page.
pub fn encode_view(view: &ShellView) -> String {
    let mut w = QueryWriter::default();
    if let Some(id) = &view.lesson {
        w.raw("lesson", id.clone());
    }
    if let Some(data) = &view.lesson_data {
        w.raw("lessondata", data.clone());
    }
    if view.has_lesson() {
        w.int(&STEP, view.step);
    }
    if view.present {
        w.flag(&PRESENT, true);
    }
    if let Some(show) = &view.show {
        w.raw("show", show.join(","));
    }
    if view.embed {
        w.flag(&EMBED, true);
        if let Some(panel) = &view.panel {
            w.raw("panel", panel.clone());
        }
    }
    if view.notes {
        w.flag(&NOTES, true);
    }
    w.finish()
}

/// The URL query for `page` (a lab's as it last wrote it) with the view keys after it.
pub fn encode_shell(page: Page, queries: &LabQueries, view: &ShellView) -> String {
    let page = encode_page(page, queries);
    let view = encode_view(view);
    match (page.is_empty(), view.is_empty()) {
        (_, true) => page,
        (true, false) => view,
        (false, false) => format!("{page}&{view}"),
    }
}

/// The URL query for `page` alone: a lab's as it last wrote it.
pub fn encode_page(page: Page, queries: &LabQueries) -> String {
    match page {
        Page::Home => String::new(),
        Page::Lab(lab) => queries.get(lab).map_or_else(|| format!("page={}", lab.name), str::to_string),
        other => format!("page={}", other.name()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labs::lab;

    #[test]
    fn the_shell_keeps_a_labs_query_as_written() {
        let mut queries = LabQueries::default();
        let (page, view, notes) = decode_shell("?page=alignment&beta=-3&bogus=1", &mut queries);
        assert_eq!(page, Page::Lab(lab("alignment").unwrap()));
        assert_eq!(view, ShellView::default());
        // The lab names these when it reads them; the shell only keeps them.
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(encode_shell(page, &queries, &view), "page=alignment&beta=-3&bogus=1");
        assert_eq!(encode_page(Page::Lab(lab("activations").unwrap()), &queries), "page=activations");
        assert_eq!(encode_page(Page::Home, &queries), "");
        assert_eq!(encode_page(Page::About, &queries), "page=about");
        assert_eq!(encode_page(Page::Lessons, &queries), "page=lessons");
    }

    #[test]
    fn an_unknown_page_is_named_and_home_shown() {
        let mut queries = LabQueries::default();
        let (page, _, notes) = decode_shell("?page=nowhere&x=1", &mut queries);
        assert_eq!(page, Page::Home);
        let notes: Vec<String> = notes.into_iter().map(|n| n.0).collect();
        assert_eq!(
            notes,
            vec![
                "ignored page=nowhere: must be one of home, attention, activations, alignment, model, lessons, about; using home",
                "ignored x=1: not a setting of the home page",
            ]
        );
    }

    #[test]
    fn every_page_reads_back_from_its_link() {
        for page in Page::all() {
            let mut queries = LabQueries::default();
            let (read, _, notes) =
                decode_shell(&format!("?{}", encode_shell(page, &queries, &ShellView::default())), &mut queries);
            assert_eq!(read, page);
            assert!(notes.is_empty(), "{notes:?}");
        }
    }

    #[test]
    fn the_view_keys_are_the_shells_and_read_back() {
        let mut queries = LabQueries::default();
        let link = "page=attention&n=512&lesson=softmax-flattens&step=3&present=1&show=n,compare&embed=1&panel=sweep";
        let (page, view, notes) = decode_shell(link, &mut queries);
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(page, Page::Lab(lab("attention").unwrap()));
        // The lab sees only its own settings.
        assert_eq!(queries.get(lab("attention").unwrap()), Some("page=attention&n=512"));
        assert_eq!(view.lesson.as_deref(), Some("softmax-flattens"));
        assert_eq!(view.step, 3);
        assert!(view.present && view.embed);
        assert_eq!(view.show, Some(vec!["n".to_string(), "compare".to_string()]));
        assert_eq!(view.panel.as_deref(), Some("sweep"));
        assert_eq!(encode_shell(page, &queries, &view), link);
    }

    #[test]
    fn bad_view_values_are_named_and_nothing_else_changes() {
        let mut queries = LabQueries::default();
        let (page, view, notes) = decode_shell(
            "page=model&lesson=<b>x</b>&step=99&present=maybe&show=n,<i>&panel=main&notes=1",
            &mut queries,
        );
        assert_eq!(page, Page::Lab(lab("model").unwrap()));
        assert_eq!(queries.get(lab("model").unwrap()), Some("page=model"));
        let notes: Vec<String> = notes.into_iter().map(|n| n.0).collect();
        assert_eq!(
            notes,
            vec![
                "ignored lesson=<b>x</b>: a lesson's name is 1–48 of a–z, 0–9 and -; no lesson opened",
                "ignored step=99: must be 1..40; using 1",
                "ignored present=maybe: must be 1 or 0; using 0",
                "ignored show=…<i>…: a control's name is 1–48 of a–z, 0–9, - and _",
                "ignored panel=main: a panel is chosen for an embed (embed=1)",
                "ignored notes=1: speaker notes belong to a lesson (lesson=)",
            ]
        );
        assert_eq!(view, ShellView { show: Some(vec!["n".into()]), ..ShellView::default() });
    }
}
