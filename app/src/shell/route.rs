//! The page a URL names, and the shell's keeping of each lab's query.
//!
//! The shell reads only `page=`: a lab's settings are read and checked by the lab's own module
//! (it names every value it cannot use), so the shell keeps a lab's query as written and carries
//! no lab's codec.

use std::collections::BTreeMap;

use crate::{
    labs::{LabEntry, LABS},
    state::codec::{Notice, QueryReader},
};

/// The page the URL shows: home, a lab of the registry, or About.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    Home,
    Lab(&'static LabEntry),
    About,
}

impl Page {
    /// Every page, in the navigation's order.
    pub fn all() -> impl Iterator<Item = Page> {
        std::iter::once(Page::Home).chain(LABS.iter().map(Page::Lab)).chain(std::iter::once(Page::About))
    }

    /// The `page=` value.
    pub fn name(self) -> &'static str {
        match self {
            Page::Home => "home",
            Page::Lab(lab) => lab.name,
            Page::About => "about",
        }
    }

    /// The name shown in the navigation and the title.
    pub fn label(self) -> &'static str {
        match self {
            Page::Home => "Home",
            Page::Lab(lab) => lab.title,
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

/// Reads a URL: the page it names (an unknown one is named, and home shown); a lab's query is
/// kept as written. Returns the page and the notices of what the shell itself could not use.
pub fn decode_shell(query: &str, queries: &mut LabQueries) -> (Page, Vec<Notice>) {
    let mut q = QueryReader::from_query(query);
    let pages: Vec<Page> = Page::all().collect();
    let names: Vec<&str> = pages.iter().map(|p| p.name()).collect();
    let page = pages[q.one_of("page", &names, 0)];
    match page {
        Page::Lab(lab) => {
            // The lab reads its query whole and names everything it cannot use (a repeated
            // `page=` too), so the shell says nothing of it.
            queries.keep(lab, query);
            (page, Vec::new())
        }
        Page::Home => (page, q.finish("the home page")),
        Page::About => (page, q.finish("the About page")),
    }
}

/// The URL query for `page`: a lab's as it last wrote it.
pub fn encode_shell(page: Page, queries: &LabQueries) -> String {
    match page {
        Page::Home => String::new(),
        Page::About => "page=about".into(),
        Page::Lab(lab) => queries.get(lab).map_or_else(|| format!("page={}", lab.name), str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labs::lab;

    #[test]
    fn the_shell_keeps_a_labs_query_as_written() {
        let mut queries = LabQueries::default();
        let (page, notes) = decode_shell("?page=alignment&beta=-3&bogus=1", &mut queries);
        assert_eq!(page, Page::Lab(lab("alignment").unwrap()));
        // The lab names these when it reads them; the shell only keeps them.
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(encode_shell(page, &queries), "page=alignment&beta=-3&bogus=1");
        assert_eq!(encode_shell(Page::Lab(lab("activations").unwrap()), &queries), "page=activations");
        assert_eq!(encode_shell(Page::Home, &queries), "");
        assert_eq!(encode_shell(Page::About, &queries), "page=about");
    }

    #[test]
    fn an_unknown_page_is_named_and_home_shown() {
        let mut queries = LabQueries::default();
        let (page, notes) = decode_shell("?page=nowhere&x=1", &mut queries);
        assert_eq!(page, Page::Home);
        let notes: Vec<String> = notes.into_iter().map(|n| n.0).collect();
        assert_eq!(
            notes,
            vec![
                "ignored page=nowhere: must be one of home, attention, activations, alignment, model, about; using home",
                "ignored x=1: not a setting of the home page",
            ]
        );
    }

    #[test]
    fn every_page_reads_back_from_its_link() {
        for page in Page::all() {
            let mut queries = LabQueries::default();
            let (read, notes) = decode_shell(&format!("?{}", encode_shell(page, &queries)), &mut queries);
            assert_eq!(read, page);
            assert!(notes.is_empty(), "{notes:?}");
        }
    }
}
