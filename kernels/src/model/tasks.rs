//! The Model lab's tasks, generated from a seed: every example is a token sequence with a
//! target at the positions a model is scored on ([`IGNORE`] elsewhere), for next-token
//! training. The synthetic tasks share one vocabulary: data symbols `0..16`, then [`SEP`] and
//! [`MARK`]. The text task reads characters of Tiny Shakespeare; its vocabulary is the text's
//! alphabet ([`ALPHABET`], known without the text). The text itself is embedded with the
//! `text` feature (the training worker), or handed over at run time with [`provide_text`] (the
//! page, which loads `data/shakespeare.txt` when the task is chosen, and so stays small).
//!
//! `len` is the task's size (items to copy, pairs to recall, bits to count…), so the same task
//! can be trained at one length and evaluated at longer ones.

use super::transformer::IGNORE;
use crate::Rng;

/// Data symbols.
pub const SYMBOLS: u32 = 16;
/// Separates the input from the answer.
pub const SEP: u32 = 16;
/// Marks the passkey.
pub const MARK: u32 = 17;
pub const VOCAB: usize = 18;

/// The text task's corpus: the first 190 KB of Tiny Shakespeare (Karpathy's char-rnn data,
/// plays of Shakespeare, public domain), shipped as `www/data/shakespeare.txt`.
#[cfg(feature = "text")]
pub const TEXT: &str = include_str!("../../../www/data/shakespeare.txt");
/// Share of the text trained on; the rest is held out for validation.
const TEXT_TRAIN: f64 = 0.9;

/// The text's characters, sorted: the text task's vocabulary (a test checks it against the
/// text).
pub const ALPHABET: &str = "\n !&',-.:;?ABCDEFGHIJKLMNOPQRSTUVWYZabcdefghijklmnopqrstuvwxyz";

/// The text as indices into [`ALPHABET`].
struct Corpus {
    ids: Vec<u32>,
}

static CORPUS: std::sync::OnceLock<Corpus> = std::sync::OnceLock::new();

fn read_corpus(text: &str) -> Result<Corpus, String> {
    let alphabet: Vec<char> = ALPHABET.chars().collect();
    let ids = text
        .chars()
        .map(|ch| {
            alphabet
                .binary_search(&ch)
                .map(|i| i as u32)
                .map_err(|_| format!("the text has {ch:?}, outside its alphabet"))
        })
        .collect::<Result<Vec<u32>, String>>()?;
    if ids.len() < 1000 {
        return Err(format!("the text has {} characters; the task needs at least 1,000", ids.len()));
    }
    Ok(Corpus { ids })
}

/// The corpus: embedded (feature `text`) or handed over ([`provide_text`]); `None` until then.
fn corpus() -> Option<&'static Corpus> {
    #[cfg(feature = "text")]
    if CORPUS.get().is_none() {
        let _ = CORPUS.set(read_corpus(TEXT).expect("the embedded text is in its alphabet"));
    }
    CORPUS.get()
}

/// Hands the text task its corpus (`www/data/shakespeare.txt`, loaded by the page). The first
/// text given stays; a text with a character outside [`ALPHABET`] is refused with the reason.
pub fn provide_text(text: &str) -> Result<(), String> {
    if CORPUS.get().is_none() {
        let _ = CORPUS.set(read_corpus(text)?);
    }
    Ok(())
}

/// Whether the text task can draw examples (its corpus is embedded or was handed over).
pub fn text_ready() -> bool {
    corpus().is_some()
}

/// Which examples a batch comes from: the text task holds part of its corpus out; the
/// synthetic tasks draw fresh examples for both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Train,
    Validation,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "snake_case"))]
pub enum Task {
    /// `x₁…x_L SEP x₁…x_L`: the answer repeats the input.
    Copy,
    /// `x₁…x_L SEP x_L…x₁`.
    Reverse,
    /// `x₁…x_L SEP sorted(x)`.
    Sort,
    /// `k₁ v₁ … k_L v_L SEP k_j v_j`: the value stored under a key (keys 0–7, values 8–15,
    /// distinct keys; L ≤ 8).
    Recall,
    /// `L` filler symbols (0–3) with `MARK d` hidden among them, then `SEP d`.
    Passkey,
    /// `a b SEP (a + b) mod 16` (no length: `len` is ignored).
    ModAdd,
    /// `L` bits, `SEP`, their parity.
    Parity,
    /// `L` brackets (0 open, 1 close), `SEP`, 1 if balanced.
    Dyck,
    /// `L` symbols from 0–3, `SEP q`, how many times q occurs (mod 16).
    Count,
    /// `L` characters of Shakespeare; every position predicts the next character.
    Text,
}

impl Task {
    pub const ALL: [Task; 10] = [
        Task::Copy,
        Task::Reverse,
        Task::Sort,
        Task::Recall,
        Task::Passkey,
        Task::ModAdd,
        Task::Parity,
        Task::Dyck,
        Task::Count,
        Task::Text,
    ];

    /// The number of distinct tokens.
    pub fn vocab(self) -> usize {
        match self {
            Task::Text => ALPHABET.chars().count(),
            _ => VOCAB,
        }
    }

    /// How token `tok` is shown: a data symbol as a hex digit, `SEP` as `|`, `MARK` as `*`, a
    /// character as itself (a newline as `⏎`).
    pub fn token_text(self, tok: u32) -> String {
        match self {
            Task::Text => match ALPHABET.chars().nth(tok as usize) {
                Some('\n') => "⏎".into(),
                Some(ch) => ch.to_string(),
                None => "?".into(),
            },
            _ => match tok {
                SEP => "|".into(),
                MARK => "*".into(),
                t if t < SYMBOLS => format!("{t:x}"),
                _ => "?".into(),
            },
        }
    }

    /// The sequence length (tokens fed to the model) of an example of size `len`.
    pub fn seq_len(self, len: usize) -> usize {
        match self {
            Task::Copy | Task::Reverse | Task::Sort => 2 * len,
            Task::Recall => 2 * len.min(8) + 2,
            Task::Passkey => len + 3,
            Task::ModAdd => 3,
            Task::Parity | Task::Dyck => len + 1,
            Task::Count => len + 2,
            Task::Text => len,
        }
    }

    /// One example: the full sequence `s`, and how many of its last tokens are the answer.
    fn sequence(self, len: usize, rng: &mut Rng, part: Part) -> (Vec<u32>, usize) {
        let sym = |rng: &mut Rng, n: u32| rng.below(n);
        match self {
            Task::Text => {
                // Without its corpus (see `text_ready`) the task draws blank windows.
                let ids: &[u32] = corpus().map_or(&[], |c| &c.ids);
                let split = (ids.len() as f64 * TEXT_TRAIN) as usize;
                let (from, to) = match part {
                    Part::Train => (0, split),
                    Part::Validation => (split, ids.len()),
                };
                // A window of len + 1 characters inside the part (the whole part if shorter).
                let room = (to - from).saturating_sub(len + 1);
                let at = from + rng.below(room as u32 + 1) as usize;
                let mut s: Vec<u32> = ids[at..(at + len + 1).min(to)].to_vec();
                s.resize(len + 1, 0);
                (s, len)
            }
            Task::Copy | Task::Reverse | Task::Sort => {
                let x: Vec<u32> = (0..len).map(|_| sym(rng, SYMBOLS)).collect();
                let mut answer = x.clone();
                if self == Task::Reverse {
                    answer.reverse();
                } else if self == Task::Sort {
                    answer.sort_unstable();
                }
                let mut s = x;
                s.push(SEP);
                s.extend(answer);
                (s, len)
            }
            Task::Recall => {
                let pairs = len.min(8);
                let mut keys: Vec<u32> = (0..8).collect();
                // Fisher–Yates on the seeded stream.
                for i in (1..keys.len()).rev() {
                    keys.swap(i, rng.below(i as u32 + 1) as usize);
                }
                let mut s = Vec::new();
                let values: Vec<u32> = (0..pairs).map(|_| 8 + sym(rng, 8)).collect();
                for i in 0..pairs {
                    s.push(keys[i]);
                    s.push(values[i]);
                }
                let j = rng.below(pairs as u32) as usize;
                s.extend([SEP, keys[j], values[j]]);
                (s, 1)
            }
            Task::Passkey => {
                let d = sym(rng, SYMBOLS);
                let at = rng.below(len as u32 + 1) as usize;
                let mut s: Vec<u32> = (0..len).map(|_| sym(rng, 4)).collect();
                s.splice(at..at, [MARK, d]);
                s.extend([SEP, d]);
                (s, 1)
            }
            Task::ModAdd => {
                let (a, b) = (sym(rng, SYMBOLS), sym(rng, SYMBOLS));
                (vec![a, b, SEP, (a + b) % SYMBOLS], 1)
            }
            Task::Parity => {
                let bits: Vec<u32> = (0..len).map(|_| sym(rng, 2)).collect();
                let parity = bits.iter().sum::<u32>() % 2;
                let mut s = bits;
                s.extend([SEP, parity]);
                (s, 1)
            }
            Task::Dyck => {
                // Half balanced (a seeded walk that never goes below 0 and ends at 0), half
                // the same with one bracket flipped.
                let balanced = rng.below(2) == 0;
                let mut s = Vec::with_capacity(len + 2);
                let mut depth = 0usize;
                for i in 0..len {
                    let left = len - i;
                    let open = if depth == 0 {
                        true
                    } else if depth >= left {
                        false
                    } else {
                        rng.below(2) == 0
                    };
                    s.push(if open { 0 } else { 1 });
                    depth = if open { depth + 1 } else { depth - 1 };
                }
                if !balanced && len > 0 {
                    let i = rng.below(len as u32) as usize;
                    s[i] ^= 1;
                }
                let ok = is_balanced(&s);
                s.extend([SEP, u32::from(ok)]);
                (s, 1)
            }
            Task::Count => {
                let x: Vec<u32> = (0..len).map(|_| sym(rng, 4)).collect();
                let q = sym(rng, 4);
                let count = x.iter().filter(|&&v| v == q).count() as u32 % SYMBOLS;
                let mut s = x;
                s.extend([SEP, q, count]);
                (s, 1)
            }
        }
    }

    /// A batch: tokens and targets `[batch, T]` (`T = seq_len(len)`), targets [`IGNORE`]
    /// except at the answer.
    pub fn batch(self, len: usize, batch: usize, rng: &mut Rng) -> (Vec<u32>, Vec<u32>) {
        self.batch_from(len, batch, rng, Part::Train)
    }

    /// [`Task::batch`] from the given part of the data.
    pub fn batch_from(self, len: usize, batch: usize, rng: &mut Rng, part: Part) -> (Vec<u32>, Vec<u32>) {
        let t = self.seq_len(len);
        let mut tokens = Vec::with_capacity(batch * t);
        let mut targets = Vec::with_capacity(batch * t);
        for _ in 0..batch {
            let (s, answer) = self.sequence(len, rng, part);
            debug_assert_eq!(s.len(), t + 1, "{self:?} at {len}");
            tokens.extend_from_slice(&s[..t]);
            // Position i predicts s[i + 1]; the answer's tokens are the last `answer`.
            targets.extend((0..t).map(|i| if i + 1 >= s.len() - answer { s[i + 1] } else { IGNORE }));
        }
        (tokens, targets)
    }
}

fn is_balanced(s: &[u32]) -> bool {
    let mut depth = 0i64;
    for &b in s {
        depth += if b == 0 { 1 } else { -1 };
        if depth < 0 {
            return false;
        }
    }
    depth == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_task_makes_sequences_of_its_length_with_answers_that_are_right() {
        let mut rng = Rng::new(5);
        for task in Task::ALL {
            for len in [1, 4, 8, 16] {
                let (tokens, targets) = task.batch(len, 3, &mut rng);
                let t = task.seq_len(len);
                assert_eq!(tokens.len(), 3 * t, "{task:?} {len}");
                assert!(tokens.iter().all(|&x| (x as usize) < task.vocab()));
                assert!(targets.iter().any(|&y| y != IGNORE), "{task:?}: nothing to learn");
                // Next-token form: a target is the following token.
                for r in 0..3 {
                    for i in 0..t - 1 {
                        let y = targets[r * t + i];
                        if y != IGNORE {
                            assert_eq!(y, tokens[r * t + i + 1], "{task:?} {len}");
                        }
                    }
                }
            }
        }
        // Spot checks of the answers.
        let (tok, tar) = Task::Reverse.batch(3, 1, &mut rng);
        assert_eq!(&tar[3..6], &[tok[2], tok[1], tok[0]]);
        let (tok, tar) = Task::Parity.batch(5, 1, &mut rng);
        assert_eq!(tar[5], tok[..5].iter().sum::<u32>() % 2);
        let (tok, tar) = Task::Dyck.batch(6, 1, &mut rng);
        assert_eq!(tar[6] == 1, is_balanced(&tok[..6]));
        // Text: every position predicts the next character; validation windows come from
        // the held-out tail. The corpus is given first: without the `text` feature it is not
        // embedded.
        let text = include_str!("../../../www/data/shakespeare.txt");
        provide_text(text).unwrap();
        let (tok, tar) = Task::Text.batch_from(12, 1, &mut rng, Part::Validation);
        assert_eq!(&tar[..11], &tok[1..]);
        let shown: String = tok.iter().map(|&t| Task::Text.token_text(t)).collect::<String>().replace('⏎', "\n");
        let tail = &text[(text.len() as f64 * TEXT_TRAIN) as usize - 1..];
        assert!(tail.contains(&shown), "{shown:?} is not from the held-out part");
        assert_eq!(Task::Text.vocab(), 62);
        assert_eq!(Task::Passkey.token_text(MARK), "*");
    }

    #[test]
    fn the_alphabet_is_the_texts_and_a_foreign_text_is_refused() {
        let text = include_str!("../../../www/data/shakespeare.txt");
        let mut chars: Vec<char> = text.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        assert_eq!(chars.into_iter().collect::<String>(), ALPHABET);
        assert_eq!(read_corpus("short").err().unwrap(), "the text has 5 characters; the task needs at least 1,000");
        assert!(read_corpus(&"é".repeat(2000)).err().unwrap().contains("'é', outside its alphabet"));
    }
}
