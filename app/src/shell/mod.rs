//! The shell: header with navigation, notices, the current page (home, About, or a lab loaded
//! from its own module), footer. Owns the URL: it keeps each lab's query and the address bar in
//! step with it. Made from the lab registry ([`crate::labs::LABS`]); it carries no lab's code.

pub mod about;
pub mod home;
pub mod lessons;
pub mod loader;
pub mod notices;
pub mod present;
pub mod route;
pub mod share;
pub mod theme;

use leptos::{ev, prelude::*};
use web_sys::MouseEvent;

use self::{
    lessons::{author::Draft, play},
    notices::{NoticeKind, Notices, PageNotice},
    route::{decode_shell, encode_page, encode_shell, LabQueries, Page, ShellView},
    share::ShareQr,
    theme::ThemeToggle,
};
use crate::{
    labs::frame::PageLink,
    state::url,
    worker::client::{versioned, Compute, ComputeStatus},
};

/// The shell's worker: the About page's compute check, and the GPU probe the footer reports.
pub type ShellCompute = Compute<softplay_worker::shell::Request, softplay_worker::shell::Done>;

/// The experiment state of the whole page, shared through context. `Copy`: arena handles.
#[derive(Clone, Copy)]
pub struct AppState {
    pub page: RwSignal<Page>,
    /// Each lab's query, as the lab last wrote it.
    pub labs: RwSignal<LabQueries>,
    /// How the page is shown: lesson, presenter mode, embed (the shell's own keys of the link).
    pub view: RwSignal<ShellView>,
    pub notices: RwSignal<Vec<PageNotice>>,
    next_notice: StoredValue<u64>,
}

impl AppState {
    fn new() -> Self {
        AppState {
            page: RwSignal::new(Page::Home),
            labs: RwSignal::new(LabQueries::default()),
            view: RwSignal::new(ShellView::default()),
            notices: RwSignal::new(Vec::new()),
            next_notice: StoredValue::new(1),
        }
    }

    /// Reads the page and its lab's settings from the URL; every value not used as written
    /// becomes a notice (replacing the notices of the previous link).
    pub fn load_from_url(&self) {
        let mut labs = self.labs.get_untracked();
        let (page, view, notes) = decode_shell(&url::current_query(), &mut labs);
        self.labs.set(labs);
        if self.view.get_untracked() != view {
            self.view.set(view);
        }
        if self.page.get_untracked() != page {
            self.page.set(page);
        }
        self.notices.update(|n| n.retain(|x| x.kind != NoticeKind::Link));
        for note in notes {
            self.notify(NoticeKind::Link, note.0);
        }
    }

    /// Goes to `page` with a new history entry; that page's lab keeps its settings.
    pub fn navigate(&self, page: Page) {
        self.notices.update(|n| n.retain(|x| x.kind != NoticeKind::Link));
        // The same page stays mounted (a lesson's next step in the same lab).
        if self.page.get_untracked() != page {
            self.page.set(page);
        }
        url::push_query(&self.query());
        if let Some(window) = web_sys::window() {
            window.scroll_to_with_x_and_y(0.0, 0.0);
            if let Some(main) = window.document().and_then(|d| d.get_element_by_id("main")) {
                use wasm_bindgen::JsCast;
                if let Ok(main) = main.dyn_into::<web_sys::HtmlElement>() {
                    let _ = main.focus();
                }
            }
        }
    }

    /// The query of the page on screen: the page, its lab's settings, the view keys.
    pub fn query(&self) -> String {
        self.labs
            .with_untracked(|labs| self.view.with_untracked(|view| encode_shell(self.page.get_untracked(), labs, view)))
    }

    /// Writes the page's query to the address bar now, without a new history entry.
    pub fn replace_url(&self) {
        url::replace_query(&self.query());
    }

    /// Shows a notice, once: the same notice again (two workers of a lab that stopped alike)
    /// is not repeated.
    pub fn notify(&self, kind: NoticeKind, text: String) {
        if self.notices.with_untracked(|n| n.iter().any(|n| n.kind == kind && n.text == text)) {
            return;
        }
        let id = self.next_notice.get_value();
        self.next_notice.set_value(id + 1);
        self.notices.update(|n| n.push(PageNotice { id, kind, text }));
    }
}

/// The `href` of a page: a relative query link, so any sub-path works without rewrites.
pub fn page_href(page: Page) -> String {
    match page {
        Page::Home => "./".into(),
        other => format!("?{}", encode_page(other, &LabQueries::default())),
    }
}

/// Click handler for internal links: navigates in place, unless the person asked for a new
/// tab or window (modifier keys, middle button), which the browser then handles.
pub fn follow(page: Page) -> impl Fn(MouseEvent) + Copy + 'static {
    move |ev: MouseEvent| {
        if ev.button() != 0 || ev.ctrl_key() || ev.meta_key() || ev.shift_key() || ev.alt_key() {
            return;
        }
        ev.prevent_default();
        expect_context::<AppState>().navigate(page);
    }
}

/// How often, at most, the address bar follows the settings.
const URL_EVERY_MS: u64 = 150;

#[component]
pub fn App() -> impl IntoView {
    let state = AppState::new();
    provide_context(state);
    state.load_from_url();
    let compute = ShellCompute::start();
    provide_context(compute);
    provide_context(PageLink(Callback::new(move |_| state.query())));
    let lessons = lessons::provide(state);
    Draft::provide();
    lessons::open_from_url(state, lessons);
    play::keys(state, lessons);
    Effect::new(move |_| state.view.with(present::apply));

    // The URL follows the state (no new history entry), at most every URL_EVERY_MS while a
    // slider moves (browsers stop honouring a flood of history updates), and the title names
    // the page.
    let url_pending = StoredValue::new(false);
    Effect::new(move |_| {
        let page = state.page.get();
        state.labs.track();
        state.view.track();
        if !url_pending.get_value() {
            url_pending.set_value(true);
            set_timeout(
                move || {
                    url_pending.set_value(false);
                    state.replace_url();
                },
                std::time::Duration::from_millis(URL_EVERY_MS),
            );
        }
        let title = match page {
            Page::Home => "Softplay — see how a transformer's nonlinearities behave".to_string(),
            other => format!("{} — Softplay", other.label()),
        };
        if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
            doc.set_title(&title);
        }
    });
    window_event_listener(ev::popstate, move |_| {
        state.load_from_url();
        lessons::open_from_url(state, lessons);
    });
    Effect::new(move |_| {
        if let ComputeStatus::Stopped(why) = compute.status.get() {
            state.notify(NoticeKind::Error, format!("Computation is off: {why}"));
        }
    });
    // A worker (the page's or a lab's) that stopped and was started again: say which and why.
    let _restarted = window_event_listener_untyped(crate::worker::client::RESTARTED_EVENT, move |e| {
        if let Some(message) =
            wasm_bindgen::JsCast::dyn_ref::<web_sys::CustomEvent>(&e).and_then(|c| c.detail().as_string())
        {
            let mut text = message;
            text[..1].make_ascii_uppercase();
            state.notify(NoticeKind::Error, format!("{text}."));
        }
    });
    Effect::new(move |_| {
        if let Some(message) = compute.unreadable.get() {
            state.notify(NoticeKind::Error, format!("{message}; reload the page if results stop coming"));
        }
    });

    // On a narrow screen the navigation is a menu; following a link closes it.
    let menu_open = RwSignal::new(false);
    Effect::new(move |_| {
        state.page.track();
        menu_open.set(false);
    });
    let nav_item = move |page: Page| {
        view! {
            <li>
                <a
                    href=page_href(page)
                    aria-current=move || (state.page.get() == page).then_some("page")
                    on:click=follow(page)
                >
                    {page.label()}
                </a>
            </li>
        }
    };

    let content = move || match state.page.get() {
        Page::Home => view! { <home::Home/> }.into_any(),
        Page::Lab(lab) => view! { <loader::LabModule lab=lab/> }.into_any(),
        Page::Lessons => view! { <lessons::index::LessonsPage/> }.into_any(),
        Page::About => view! { <about::About/> }.into_any(),
    };
    let notes = state.view.with_untracked(|v| v.notes);
    let embed = state.view.with_untracked(|v| v.embed);
    if notes {
        // The speaker notes window: the lesson's text and what comes next; no lab.
        return view! {
            <Notices/>
            <main id="main" tabindex="-1"><play::Notes/></main>
        }
        .into_any();
    }
    if embed {
        // One panel for an iframe: no header, navigation or footer.
        return view! {
            <Notices/>
            <main id="main" tabindex="-1">{content}</main>
            <present::OpenInSoftplay/>
        }
        .into_any();
    }
    let veiled = move || play::veiled(state, lessons);
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="site-header">
            <a class="brand" href=page_href(Page::Home) on:click=follow(Page::Home)>
                <img src=versioned("icons/favicon.svg") alt="" width="28" height="28"/>
                <span>"Softplay"</span>
            </a>
            <button
                type="button"
                class="menu-toggle"
                data-testid="menu"
                aria-controls="site-nav"
                aria-expanded=move || if menu_open.get() { "true" } else { "false" }
                on:click=move |_| menu_open.update(|o| *o = !*o)
            >
                <span aria-hidden="true">"☰"</span>
                " Menu"
            </button>
            <nav id="site-nav" aria-label="Labs" class:open=move || menu_open.get()>
                <ul>{Page::all().filter(|p| *p != Page::Home).map(nav_item).collect::<Vec<_>>()}</ul>
            </nav>
            <ShareQr/>
            <ThemeToggle/>
        </header>
        <Notices/>
        <main id="main" tabindex="-1" class:veiled=veiled class:in-lesson=move || lessons.open.with(Option::is_some)>
            <play::LessonBar/>
            <lessons::author::DraftBar/>
            {content}
        </main>
        <footer class="site-footer">
            <p>
                "Computing on: "
                <span class="backend" data-testid="backend">{move || compute.status.get().describe()}</span>
            </p>
            <p>
                {format!("Softplay {} · ", env!("CARGO_PKG_VERSION"))}
                "Everything runs in this page; nothing you do is sent anywhere. · "
                <a href=page_href(Page::About) on:click=follow(Page::About)>"About"</a>
            </p>
        </footer>
    }
    .into_any()
}
