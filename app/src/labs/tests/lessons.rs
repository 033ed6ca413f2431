//! The lessons that come with Softplay (`www/lessons/`): each file holds to the format's rules
//! (docs/LESSONS.md), the index lists exactly the files there are, and every step's link is read
//! by its lab without a notice, each of its values written as the lab writes it, so that a step
//! shows exactly what the lesson says.

use std::{collections::BTreeSet, fs, path::PathBuf};

use super::{decode, encode, Labs};
use crate::shell::lessons::model::Lesson;
use crate::state::codec::Choice;

fn lessons_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../www/lessons")
}

fn read(name: &str) -> String {
    fs::read_to_string(lessons_dir().join(name)).unwrap_or_else(|e| panic!("www/lessons/{name}: {e}"))
}

/// Each lab's secondary panels (`Tab::new` in its `mod.rs`).
const TABS: [(&str, &[&str]); 4] = [
    ("attention", &["sweep", "stability", "race"]),
    ("activations", &["properties", "gate", "race"]),
    ("alignment", &["toy", "bon", "nash"]),
    ("model", &["sweep", "inspect", "checkpoints"]),
];

#[test]
fn the_index_lists_every_lesson_file_once() {
    let index: serde_json::Value = serde_json::from_str(&read("index.json")).expect("index.json is JSON");
    let listed: Vec<String> = index["lessons"]
        .as_array()
        .expect("index.json has lessons")
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let unique: BTreeSet<&String> = listed.iter().collect();
    assert_eq!(unique.len(), listed.len(), "a lesson is listed twice: {listed:?}");
    let files: BTreeSet<String> = fs::read_dir(lessons_dir())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n != "index.json")
        .map(|n| n.strip_suffix(".json").map(str::to_string).unwrap_or_else(|| panic!("{n} is not a .json file")))
        .collect();
    assert_eq!(unique.into_iter().cloned().collect::<BTreeSet<_>>(), files);
    assert!(files.len() >= 8, "{} lessons; the classroom needs at least 8", files.len());
}

#[test]
fn every_lesson_holds_to_the_format_and_its_links_read_without_a_notice() {
    let mut labs_seen = BTreeSet::new();
    let mut questions = 0;
    for entry in fs::read_dir(lessons_dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name == "index.json" {
            continue;
        }
        let lesson: Lesson = serde_json::from_str(&read(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        lesson.check().unwrap_or_else(|e| panic!("{name}: {}", e.0));
        assert_eq!(format!("{}.json", lesson.id), name, "a lesson's file is named by its id");
        for (i, step) in lesson.steps.iter().enumerate() {
            questions += usize::from(step.question.is_some());
            let mut labs = Labs::default();
            let (page, notes) = decode(&step.link, &mut labs);
            assert!(notes.is_empty(), "{name} steps[{i}]: {notes:?}");
            labs_seen.insert(page.name());
            if let Some(tab) = &step.tab {
                let (_, tabs) = TABS.iter().find(|(lab, _)| *lab == page.name()).expect("a lab");
                assert!(tabs.contains(&tab.as_str()), "{name} steps[{i}]: the {} lab has no tab {tab}", page.name());
            }
            let full = encode(page, &labs);
            let full_pairs: BTreeSet<&str> = full.split('&').collect();
            for pair in step.link.split('&') {
                assert!(
                    full_pairs.contains(pair),
                    "{name} steps[{i}]: {pair} is not as the lab writes it; it writes {full}"
                );
            }
        }
    }
    assert_eq!(labs_seen.len(), 4, "the lessons visit every lab: {labs_seen:?}");
    assert!(questions >= 16, "{questions} questions to predict");
}
