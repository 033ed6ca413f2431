//! A lesson as data (docs/LESSONS.md): a title, who it is for, and steps, each a lab's state (a
//! link's query), a short text and, optionally, a question to answer before the answer and the
//! figure appear. [`Lesson::check`] holds a lesson from a file or a link to the format's rules
//! and names the first one it breaks.

use serde::{Deserialize, Serialize};

use crate::{
    labs::LABS,
    shell::route::{decode_shell, is_name, LabQueries, Page, LESSON_MAX_STEPS},
};

/// The format's version (`softplay_lesson`).
pub const FORMAT: u32 = 1;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Lesson {
    pub softplay_lesson: u32,
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub audience: String,
    #[serde(default)]
    pub summary: String,
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub title: String,
    /// A lab's query without `?`: `page=<lab>` first.
    pub link: String,
    /// The lab's secondary panel (tab) the step shows: `sweep`, `bon`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tab: Option<String>,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<Question>,
}

/// "Predict, then reveal": a choice question (`choices`, `answer` the right one's index) or a
/// number question (no `choices`; `answer` within `tolerance`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Question {
    pub prompt: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    pub answer: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<f64>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub unit: String,
    #[serde(default)]
    pub explain: String,
}

impl Question {
    pub fn is_choice(&self) -> bool {
        !self.choices.is_empty()
    }

    /// How far a number guess may be from the answer and still count.
    pub fn tolerance(&self) -> f64 {
        self.tolerance.unwrap_or(0.05 * self.answer.abs()).max(1e-9)
    }

    /// Whether `guess` (a choice's index, or a number) is right.
    pub fn is_right(&self, guess: f64) -> bool {
        if self.is_choice() {
            guess == self.answer
        } else {
            (guess - self.answer).abs() <= self.tolerance()
        }
    }

    /// The answer as shown: the right choice, or the number with its unit.
    pub fn answer_text(&self) -> String {
        if self.is_choice() {
            self.choices.get(self.answer as usize).cloned().unwrap_or_default()
        } else {
            let unit = if self.unit.is_empty() { String::new() } else { format!(" {}", self.unit) };
            format!("{}{unit}", self.answer)
        }
    }
}

/// The first rule of docs/LESSONS.md a lesson breaks, with where (`steps[2].link: …`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LessonError(pub String);

fn length(at: &str, text: &str, min: usize, max: usize) -> Result<(), LessonError> {
    let n = text.chars().count();
    if n < min || n > max {
        let rule = if min == 0 { format!("at most {max}") } else { format!("{min} to {max}") };
        return Err(LessonError(format!("{at} has {n} characters: must have {rule}")));
    }
    Ok(())
}

impl Lesson {
    /// Holds the lesson to the format's rules.
    pub fn check(&self) -> Result<(), LessonError> {
        if self.softplay_lesson != FORMAT {
            return Err(LessonError(format!(
                "softplay_lesson is {}: this page reads lessons of format {FORMAT}",
                self.softplay_lesson
            )));
        }
        if !is_name(&self.id) || self.id.contains('_') {
            return Err(LessonError(format!("id \"{}\" must be 1–48 of a–z, 0–9 and -", short(&self.id))));
        }
        length("title", &self.title, 1, 120)?;
        length("audience", &self.audience, 0, 200)?;
        length("summary", &self.summary, 0, 300)?;
        let steps = self.steps.len();
        if steps == 0 || steps > LESSON_MAX_STEPS as usize {
            return Err(LessonError(format!("steps has {steps} steps: must have 1 to {LESSON_MAX_STEPS}")));
        }
        for (i, step) in self.steps.iter().enumerate() {
            let at = format!("steps[{i}]");
            length(&format!("{at}.title"), &step.title, 1, 80)?;
            length(&format!("{at}.text"), &step.text, 1, 2000)?;
            step_lab(&step.link).map_err(|why| LessonError(format!("{at}.link: {why}")))?;
            if let Some(tab) = &step.tab {
                if !is_name(tab) {
                    return Err(LessonError(format!(
                        "{at}.tab \"{}\" must be a panel's name: 1–48 of a–z, 0–9 and -",
                        short(tab)
                    )));
                }
            }
            if let Some(q) = &step.question {
                let at = format!("{at}.question");
                length(&format!("{at}.prompt"), &q.prompt, 1, 300)?;
                length(&format!("{at}.explain"), &q.explain, 0, 600)?;
                if q.is_choice() {
                    if !(2..=6).contains(&q.choices.len()) {
                        return Err(LessonError(format!("{at}.choices has {}: must have 2 to 6", q.choices.len())));
                    }
                    for (j, c) in q.choices.iter().enumerate() {
                        length(&format!("{at}.choices[{j}]"), c, 1, 120)?;
                    }
                    if q.answer.fract() != 0.0 || q.answer < 0.0 || q.answer as usize >= q.choices.len() {
                        return Err(LessonError(format!(
                            "{at}.answer is {}: must be the index of a choice, 0 to {}",
                            q.answer,
                            q.choices.len() - 1
                        )));
                    }
                } else {
                    if !q.answer.is_finite() {
                        return Err(LessonError(format!("{at}.answer must be a finite number")));
                    }
                    if let Some(t) = q.tolerance {
                        if !(t.is_finite() && t > 0.0) {
                            return Err(LessonError(format!("{at}.tolerance is {t}: must be a number above 0")));
                        }
                    }
                    length(&format!("{at}.unit"), &q.unit, 0, 20)?;
                }
            }
        }
        Ok(())
    }
}

/// The lab a step's link shows; a link that names no lab is named.
pub fn step_lab(link: &str) -> Result<Page, String> {
    if link.starts_with('?') {
        return Err("write the query without the leading ?".into());
    }
    if link.len() > 4000 {
        return Err(format!("has {} characters: at most 4000", link.len()));
    }
    let (page, view, notes) = decode_shell(link, &mut LabQueries::default());
    if !link.starts_with("page=") || !matches!(page, Page::Lab(_)) {
        let labs: Vec<&str> = LABS.iter().map(|l| l.name).collect();
        let named = link.split('&').next().unwrap_or_default();
        return Err(format!("{} is not a lab: a step starts with page= and one of {}", short(named), labs.join(", ")));
    }
    if view != Default::default() || !notes.is_empty() {
        return Err(
            "a step's link holds a lab's settings only (no lesson, step, present, show, embed, panel or notes)".into(),
        );
    }
    Ok(page)
}

fn short(text: &str) -> String {
    if text.chars().count() <= 40 {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(40).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lesson() -> Lesson {
        Lesson {
            softplay_lesson: 1,
            id: "demo".into(),
            title: "A demo".into(),
            audience: String::new(),
            summary: String::new(),
            steps: vec![Step {
                title: "One".into(),
                link: "page=attention&n=512".into(),
                tab: None,
                text: "Look.".into(),
                question: Some(Question {
                    prompt: "Which?".into(),
                    choices: vec!["a".into(), "b".into()],
                    answer: 1.0,
                    ..Question::default()
                }),
            }],
        }
    }

    #[test]
    fn a_good_lesson_passes_and_each_broken_rule_is_named() {
        assert_eq!(lesson().check(), Ok(()));
        let broken = |edit: fn(&mut Lesson)| {
            let mut l = lesson();
            edit(&mut l);
            l.check().unwrap_err().0
        };
        assert_eq!(broken(|l| l.softplay_lesson = 2), "softplay_lesson is 2: this page reads lessons of format 1");
        assert_eq!(broken(|l| l.id = "My Lesson".into()), "id \"My Lesson\" must be 1–48 of a–z, 0–9 and -");
        assert_eq!(broken(|l| l.title.clear()), "title has 0 characters: must have 1 to 120");
        assert_eq!(broken(|l| l.steps.clear()), "steps has 0 steps: must have 1 to 40");
        assert_eq!(
            broken(|l| l.steps[0].link = "page=nowhere&n=1".into()),
            "steps[0].link: page=nowhere is not a lab: a step starts with page= and one of attention, activations, alignment, model"
        );
        assert_eq!(
            broken(|l| l.steps[0].link = "page=model&present=1".into()),
            "steps[0].link: a step's link holds a lab's settings only (no lesson, step, present, show, embed, panel or notes)"
        );
        assert_eq!(
            broken(|l| l.steps[0].question.as_mut().unwrap().answer = 2.0),
            "steps[0].question.answer is 2: must be the index of a choice, 0 to 1"
        );
        assert_eq!(
            broken(|l| {
                let q = l.steps[0].question.as_mut().unwrap();
                q.choices.clear();
                q.tolerance = Some(-1.0);
            }),
            "steps[0].question.tolerance is -1: must be a number above 0"
        );
    }

    #[test]
    fn a_number_guess_counts_within_the_tolerance() {
        let q = Question {
            prompt: "?".into(),
            answer: 1.835,
            tolerance: Some(0.05),
            unit: "nats".into(),
            ..Question::default()
        };
        assert!(q.is_right(1.8) && q.is_right(1.88) && !q.is_right(1.9));
        assert_eq!(q.answer_text(), "1.835 nats");
        let q = Question { prompt: "?".into(), answer: 100.0, ..Question::default() };
        assert!(q.is_right(104.0) && !q.is_right(106.0));
    }
}
