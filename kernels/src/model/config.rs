//! The transformer's shape and its flat parameter vector: the [`Config`] a model is built
//! from, where each parameter tensor lies ([`Layout`]), the tensors' names and shapes as a
//! checkpoint writes them ([`Tensor`]), and the seeded initialisation. docs/MATH.md, “The
//! transformer”.
//!
//! Shapes: vocabulary `V`, longest sequence `max_len`, `L` layers of width `C`, `NH` heads of
//! `hd = C/NH`, feed-forward width `F` (`W₁` is `C × 2F` for a gated unit). Weights are
//! row-major `[in][out]`.

use super::norm::Norm;
use crate::{attention::Variant, mlp::Hidden, Rng};

/// Whether every value is finite.
pub fn all_finite(x: &[f32]) -> bool {
    x.iter().all(|v| v.is_finite())
}

/// The tensor at `(start, length)` of a flat parameter (or gradient) vector.
pub(super) fn span(p: &[f32], (at, len): (usize, usize)) -> &[f32] {
    &p[at..at + len]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "snake_case"))]
pub enum Positions {
    /// No position signal (NoPE): only the causal mask orders the tokens.
    None,
    /// A learned vector per position, added to the token embedding (`max_len` rows).
    Learned,
    /// Rotary embeddings on q and k (pairs `i`, `i + hd/2`).
    Rope,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub vocab: usize,
    /// Longest sequence (learned positions have one row per position).
    pub max_len: usize,
    pub layers: usize,
    pub width: usize,
    pub heads: usize,
    pub ffn: usize,
    pub attention: Variant,
    pub hidden: Hidden,
    pub norm: Norm,
    pub positions: Positions,
    pub tied: bool,
}

/// Where each parameter tensor starts in the flat parameter vector, and its length (0 for a
/// tensor the config does not have).
#[derive(Clone, Debug)]
pub struct Layout {
    pub wte: (usize, usize),
    pub wpe: (usize, usize),
    pub layers: Vec<LayerLayout>,
    pub lnf: (usize, usize),
    pub lnf_b: (usize, usize),
    pub out: (usize, usize),
    pub total: usize,
}

#[derive(Clone, Copy, Debug)]
pub struct LayerLayout {
    pub ln1: (usize, usize),
    pub ln1_b: (usize, usize),
    pub qkv: (usize, usize),
    pub proj: (usize, usize),
    pub ln2: (usize, usize),
    pub ln2_b: (usize, usize),
    pub fc1: (usize, usize),
    pub b1: (usize, usize),
    pub fc2: (usize, usize),
    pub b2: (usize, usize),
}

/// A named parameter tensor: its shape and where it lies in the flat vector.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub span: (usize, usize),
}

impl Config {
    pub fn head_dim(&self) -> usize {
        self.width / self.heads
    }

    /// Width of `W₁`'s output: `2F` for a gated unit (gate and up), else `F`.
    pub fn fc1_width(&self) -> usize {
        match self.hidden {
            Hidden::Gated(_) => 2 * self.ffn,
            _ => self.ffn,
        }
    }

    /// Whether the shapes make a model: every size positive, the width split evenly into
    /// heads, and an even head width for RoPE.
    pub fn check(&self) -> Result<(), String> {
        for (name, v) in [
            ("vocabulary", self.vocab),
            ("layers", self.layers),
            ("width", self.width),
            ("heads", self.heads),
            ("feed-forward width", self.ffn),
            ("longest sequence", self.max_len),
        ] {
            if v == 0 {
                return Err(format!("{name} is 0: it must be at least 1"));
            }
        }
        if !self.width.is_multiple_of(self.heads) {
            return Err(format!("width {} does not split into {} heads", self.width, self.heads));
        }
        if self.positions == Positions::Rope && !self.head_dim().is_multiple_of(2) {
            return Err(format!(
                "RoPE needs an even head width; width {} over {} heads is {}",
                self.width,
                self.heads,
                self.head_dim()
            ));
        }
        Ok(())
    }

    /// Whether sequences of `t` tokens fit: learned positions have `max_len` rows (without
    /// them any length runs). [`super::transformer::forward`] assumes it.
    pub fn check_len(&self, t: usize) -> Result<(), String> {
        if self.positions == Positions::Learned && t > self.max_len {
            return Err(format!(
                "a sequence of {t} tokens: learned positions cover {} (positions none or RoPE run at any length)",
                self.max_len
            ));
        }
        Ok(())
    }

    pub fn layout(&self) -> Layout {
        let (v, c, f) = (self.vocab, self.width, self.ffn);
        let fw = self.fc1_width();
        let biased = usize::from(self.norm == Norm::Layer);
        let mut at = 0;
        let mut take = |len: usize| {
            let span = (at, len);
            at += len;
            span
        };
        let wte = take(v * c);
        let wpe = take(if self.positions == Positions::Learned { self.max_len * c } else { 0 });
        let layers = (0..self.layers)
            .map(|_| LayerLayout {
                ln1: take(c),
                ln1_b: take(biased * c),
                qkv: take(c * 3 * c),
                proj: take(c * c),
                ln2: take(c),
                ln2_b: take(biased * c),
                fc1: take(c * fw),
                b1: take(fw),
                fc2: take(f * c),
                b2: take(c),
            })
            .collect();
        let lnf = take(c);
        let lnf_b = take(biased * c);
        let out = take(if self.tied { 0 } else { v * c });
        Layout { wte, wpe, layers, lnf, lnf_b, out, total: at }
    }

    /// Every parameter tensor the config has, named as in a checkpoint (`wte`,
    /// `layers.0.qkv`, …), in the order of the flat vector.
    pub fn tensors(&self) -> Vec<Tensor> {
        let (v, c, f, fw) = (self.vocab, self.width, self.ffn, self.fc1_width());
        let l = self.layout();
        let mut out = Vec::new();
        let mut add = |name: String, shape: Vec<usize>, span: (usize, usize)| {
            if span.1 > 0 {
                out.push(Tensor { name, shape, span });
            }
        };
        add("wte".into(), vec![v, c], l.wte);
        add("wpe".into(), vec![self.max_len, c], l.wpe);
        for (i, ll) in l.layers.iter().enumerate() {
            let name = |s: &str| format!("layers.{i}.{s}");
            add(name("ln1"), vec![c], ll.ln1);
            add(name("ln1_bias"), vec![c], ll.ln1_b);
            add(name("qkv"), vec![c, 3 * c], ll.qkv);
            add(name("proj"), vec![c, c], ll.proj);
            add(name("ln2"), vec![c], ll.ln2);
            add(name("ln2_bias"), vec![c], ll.ln2_b);
            add(name("fc1"), vec![c, fw], ll.fc1);
            add(name("fc1_bias"), vec![fw], ll.b1);
            add(name("fc2"), vec![f, c], ll.fc2);
            add(name("fc2_bias"), vec![c], ll.b2);
        }
        add("lnf".into(), vec![c], l.lnf);
        add("lnf_bias".into(), vec![c], l.lnf_b);
        add("out".into(), vec![v, c], l.out);
        out
    }

    /// Seeded initial parameters: N(0, 0.02²) weights (the residual projections scaled by
    /// `1/√(2·layers)`), norms' gains 1, biases 0.
    pub fn init(&self, seed: u32) -> Vec<f32> {
        let layout = self.layout();
        let mut p = vec![0.0f32; layout.total];
        let mut rng = Rng::new(seed as u64);
        let residual = 0.02 / (2.0 * self.layers as f32).sqrt();
        let mut fill =
            |(at, len): (usize, usize), scale: f32, p: &mut [f32]| rng.fill_normal(&mut p[at..at + len], scale);
        fill(layout.wte, 0.02, &mut p);
        fill(layout.wpe, 0.02, &mut p);
        for l in &layout.layers {
            for span in [l.ln1, l.ln2] {
                p[span.0..span.0 + span.1].fill(1.0);
            }
            fill(l.qkv, 0.02, &mut p);
            fill(l.proj, residual, &mut p);
            fill(l.fc1, 0.02, &mut p);
            fill(l.fc2, residual, &mut p);
        }
        p[layout.lnf.0..layout.lnf.0 + layout.lnf.1].fill(1.0);
        fill(layout.out, 0.02, &mut p);
        p
    }

    /// The name of the first tensor of `grads` (shaped as the parameters) with a NaN or an
    /// infinity.
    pub fn first_nonfinite(&self, grads: &[f32]) -> Option<String> {
        if all_finite(grads) {
            return None;
        }
        self.tensors().into_iter().find(|t| !all_finite(span(grads, t.span))).map(|t| t.name)
    }
}
