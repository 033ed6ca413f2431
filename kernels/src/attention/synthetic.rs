//! Seeded synthetic queries, keys and values for looking at attention: Gaussian rows, with an
//! optional repeated pattern, noise, and a planted "needle" key that one query matches.
//!
//! Rows are drawn in order, a fixed number of draws per position, so the first `n` rows are the
//! same whatever the length: a length sweep grows one sequence instead of drawing new ones.
//! With `q, k ~ N(0, 1)` the scores `q·k/√d` are about `N(0, 1)`; the logit scale multiplies
//! every query, so it multiplies every softmax score. docs/MATH.md, “Row statistics”.

use crate::Rng;

/// Largest logit scale, needle strength and noise the generator accepts.
pub const MAX_LOGIT_SCALE: f32 = 1e4;
pub const MAX_NEEDLE: f32 = 100.0;
pub const MAX_NOISE: f32 = 10.0;

/// How to draw the inputs.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Synthetic {
    pub n: usize,
    pub d: usize,
    pub seed: u64,
    /// Multiplies every query (and so every `q·k` score): the inverse temperature.
    pub logit_scale: f32,
    /// The needle's score `q·k/√d` before the logit scale, against scores of about `N(0, 1)`;
    /// 0 plants no needle.
    pub needle: f32,
    /// Every row repeats the row `t mod period` (plus noise); 0 means no pattern.
    pub period: usize,
    /// Standard deviation of Gaussian noise added to every q, k and v entry.
    pub noise: f32,
}

/// Where the needle is: the last query row matches one key a quarter of the way in (key 1 at
/// least).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Needle {
    pub query: usize,
    pub key: usize,
}

/// `[n, d]` row-major queries, keys and values.
#[derive(Clone, Debug, PartialEq)]
pub struct Qkv {
    pub q: Vec<f32>,
    pub k: Vec<f32>,
    pub v: Vec<f32>,
    pub needle: Option<Needle>,
}

impl Synthetic {
    /// Checks the settings; the message names the value and the allowed range.
    pub fn check(&self) -> Result<(), String> {
        let in_range = |x: f32, lo: f32, hi: f32| x.is_finite() && x >= lo && x <= hi;
        if self.n == 0 || self.d == 0 {
            return Err(format!("n={} and d={}: both must be at least 1", self.n, self.d));
        }
        if !in_range(self.logit_scale, 0.0, MAX_LOGIT_SCALE) {
            return Err(format!("logit scale {}: must be in 0..{MAX_LOGIT_SCALE}", self.logit_scale));
        }
        if !in_range(self.needle, 0.0, MAX_NEEDLE) {
            return Err(format!("needle {}: must be in 0..{MAX_NEEDLE}", self.needle));
        }
        if !in_range(self.noise, 0.0, MAX_NOISE) {
            return Err(format!("noise {}: must be in 0..{MAX_NOISE}", self.noise));
        }
        Ok(())
    }

    /// Where the needle goes for this length, if there is one (it needs two rows). Never key 0,
    /// so that the needle's weight and the sink's are two different numbers.
    pub fn needle_position(&self) -> Option<Needle> {
        (self.needle > 0.0 && self.n >= 2).then(|| Needle { query: self.n - 1, key: (self.n / 4).max(1) })
    }

    /// Draws the inputs.
    pub fn generate(&self) -> Qkv {
        let Synthetic { n, d, seed, logit_scale, needle, period, noise } = *self;
        let mut rng = Rng::new(seed);
        let (mut q, mut k, mut v) = (vec![0.0f32; n * d], vec![0.0f32; n * d], vec![0.0f32; n * d]);
        // Each position draws its clean q, k, v rows and then its noise, in that order, always.
        let mut clean = vec![0.0f32; 3 * d];
        let mut jitter = vec![0.0f32; 3 * d];
        // The clean rows of the first `period` positions: what the pattern repeats.
        let mut pattern = vec![0.0f32; 3 * d * period.min(n)];
        for t in 0..n {
            rng.fill_normal(&mut clean, 1.0);
            rng.fill_normal(&mut jitter, noise);
            let base = if period == 0 {
                &clean[..]
            } else if t < period {
                pattern[3 * d * t..3 * d * (t + 1)].copy_from_slice(&clean);
                &clean[..]
            } else {
                &pattern[3 * d * (t % period)..3 * d * (t % period + 1)]
            };
            for (c, x) in [&mut q, &mut k, &mut v].into_iter().enumerate() {
                let (row, base, jitter) =
                    (&mut x[t * d..(t + 1) * d], &base[c * d..(c + 1) * d], &jitter[c * d..(c + 1) * d]);
                for ((out, b), e) in row.iter_mut().zip(base).zip(jitter) {
                    *out = b + e;
                }
            }
        }
        // The needle key is the needle query scaled so that their score `q·k/√d` is `needle`.
        let placed = self.needle_position();
        if let Some(Needle { query, key }) = placed {
            let qi = &q[query * d..(query + 1) * d];
            let norm2: f32 = qi.iter().map(|x| x * x).sum::<f32>().max(1e-12);
            let factor = needle * (d as f32).sqrt() / norm2;
            let planted: Vec<f32> = qi.iter().map(|x| x * factor).collect();
            k[key * d..(key + 1) * d].copy_from_slice(&planted);
        }
        q.iter_mut().for_each(|x| *x *= logit_scale);
        Qkv { q, k, v, needle: placed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(n: usize) -> Synthetic {
        Synthetic { n, d: 8, seed: 3, logit_scale: 1.0, needle: 0.0, period: 0, noise: 0.0 }
    }

    #[test]
    fn a_longer_sequence_starts_with_the_shorter_one() {
        let (short, long) = (spec(10).generate(), spec(40).generate());
        assert_eq!(&long.q[..80], &short.q[..]);
        assert_eq!(&long.k[..80], &short.k[..]);
        assert_eq!(&long.v[..80], &short.v[..]);
        assert_ne!(spec(10).generate(), Synthetic { seed: 4, ..spec(10) }.generate());
    }

    #[test]
    fn the_needle_scores_what_was_asked_and_the_scale_multiplies_it() {
        let s = Synthetic { needle: 6.0, logit_scale: 2.5, ..spec(64) };
        let x = s.generate();
        let Needle { query, key } = x.needle.unwrap();
        assert_eq!((query, key), (63, 16));
        let score: f32 =
            x.q[query * 8..(query + 1) * 8].iter().zip(&x.k[key * 8..(key + 1) * 8]).map(|(a, b)| a * b).sum();
        assert!((score / 8f32.sqrt() - 15.0).abs() < 1e-4, "{score}");
        assert_eq!(spec(64).generate().needle, None);
    }

    #[test]
    fn a_pattern_repeats_exactly_without_noise_and_approximately_with_it() {
        let x = Synthetic { period: 5, ..spec(20) }.generate();
        assert_eq!(&x.k[5 * 8..6 * 8], &x.k[0..8]);
        assert_eq!(&x.q[17 * 8..18 * 8], &x.q[2 * 8..3 * 8]);
        let noisy = Synthetic { period: 5, noise: 0.01, ..spec(20) }.generate();
        let diff: f32 = noisy.k[5 * 8..6 * 8].iter().zip(&noisy.k[0..8]).map(|(a, b)| (a - b).abs()).sum();
        assert!(diff > 0.0 && diff < 0.5, "{diff}");
    }

    #[test]
    fn bad_settings_are_named() {
        assert!(Synthetic { logit_scale: f32::NAN, ..spec(4) }.check().unwrap_err().contains("logit scale NaN"));
        assert!(Synthetic { needle: -1.0, ..spec(4) }.check().unwrap_err().contains("needle -1"));
        assert!(spec(4).check().is_ok());
    }
}
