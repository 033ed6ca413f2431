//! A decoder-only transformer, forward and backward, in f32.
//!
//! Shapes: `B` sequences of `T` tokens, width `C`, `NH` heads of `hd = C/NH`, feed-forward
//! width `F`, vocabulary `V`. Per layer (pre-norm): `x += proj(attention(norm₁(x)))`, then
//! `x += W₂·unit(W₁·norm₂(x) + b₁) + b₂`; then a final norm and the logits `x·W_outᵀ`
//! (`W_out` is the token embedding when tied). The norms are RMSNorm or LayerNorm. Attention
//! is any variant of [`crate::attention`] under a causal mask, with RoPE on q and k or not;
//! the unit any of [`Hidden`] (an elementwise activation, PolyNorm over each token's `F`
//! values, or a gated unit such as SwiGLU, for which `W₁` is `C × 2F`, `[gate | up]`).
//! Loss: mean cross-entropy over the positions with a target.
//!
//! Weights are row-major `[in][out]` (a matmul is `out[n][o] = Σ_i in[n][i]·w[i][o]`).

use crate::{
    attention::{attention_backward, attention_forward, Attention, Extras, Gradients, Mask, Shape, Variant},
    mlp::{hidden_backward, hidden_forward, Hidden},
    Rng,
};

use super::matmul::{matmul_backward, matmul_forward};

/// A target that counts for nothing (a prompt position, padding).
pub const IGNORE: u32 = u32::MAX;
const NORM_EPS: f32 = 1e-5;
/// RoPE's base: pair `i` of a head turns by `t·ROPE_BASE^(−2i/hd)` at position `t`.
pub const ROPE_BASE: f32 = 10_000.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "snake_case"))]
pub enum Norm {
    /// `x·g/√(mean(x²) + ε)`.
    Rms,
    /// `(x − mean)·g/√(var + ε) + b`.
    Layer,
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
    /// them any length runs). [`forward`] assumes it.
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

pub fn all_finite(x: &[f32]) -> bool {
    x.iter().all(|v| v.is_finite())
}

fn span(p: &[f32], (at, len): (usize, usize)) -> &[f32] {
    &p[at..at + len]
}

fn span_mut(p: &mut [f32], (at, len): (usize, usize)) -> &mut [f32] {
    &mut p[at..at + len]
}

/// Two tensors of `p` at once, `a` before `b` (a weight and its bias, a gain and its bias).
fn spans_mut(p: &mut [f32], a: (usize, usize), b: (usize, usize)) -> (&mut [f32], &mut [f32]) {
    let (first, rest) = p.split_at_mut(b.0);
    (&mut first[a.0..a.0 + a.1], &mut rest[..b.1])
}

/// The norm of rows of `C`: `y = x̂·g (+ b)`, `x̂ = (x − μ)·rstd` (`μ = 0` for RMSNorm,
/// `rstd = 1/√(mean((x − μ)²) + ε)`); keeps `μ` and `rstd` per row. `b` is empty for RMSNorm.
#[allow(clippy::too_many_arguments)]
pub fn norm_forward(
    kind: Norm,
    y: &mut [f32],
    mean: &mut [f32],
    rstd: &mut [f32],
    x: &[f32],
    g: &[f32],
    b: &[f32],
    c: usize,
) {
    for (r, (mu, s)) in mean.iter_mut().zip(rstd.iter_mut()).enumerate() {
        let row = &x[r * c..(r + 1) * c];
        *mu = match kind {
            Norm::Rms => 0.0,
            Norm::Layer => row.iter().sum::<f32>() / c as f32,
        };
        let ms = row.iter().map(|v| (v - *mu) * (v - *mu)).sum::<f32>() / c as f32;
        *s = 1.0 / (ms + NORM_EPS).sqrt();
        for (i, (out, &v)) in y[r * c..(r + 1) * c].iter_mut().zip(row).enumerate() {
            *out = (v - *mu) * *s * g[i] + if b.is_empty() { 0.0 } else { b[i] };
        }
    }
}

/// Back through [`norm_forward`]: with `d̂ = dy·g`,
/// `dx += rstd·(d̂ − mean(d̂)·[LayerNorm] − x̂·mean(d̂·x̂))`, `dg += Σ_rows dy·x̂`, `db += Σ_rows dy`.
#[allow(clippy::too_many_arguments)]
pub fn norm_backward(
    kind: Norm,
    dx: &mut [f32],
    dg: &mut [f32],
    db: &mut [f32],
    dy: &[f32],
    x: &[f32],
    g: &[f32],
    stats: (&[f32], &[f32]),
    c: usize,
) {
    let (mean, rstd) = stats;
    for (r, (&mu, &s)) in mean.iter().zip(rstd).enumerate() {
        let (row, d) = (&x[r * c..(r + 1) * c], &dy[r * c..(r + 1) * c]);
        let xhat = |i: usize| (row[i] - mu) * s;
        let (mut mean_d, mut mean_dx) = (0.0f32, 0.0f32);
        for i in 0..c {
            let dn = d[i] * g[i];
            mean_d += dn;
            mean_dx += dn * xhat(i);
        }
        let (mean_d, mean_dx) = (mean_d / c as f32, mean_dx / c as f32);
        let centre = if kind == Norm::Layer { mean_d } else { 0.0 };
        for i in 0..c {
            let xh = xhat(i);
            dx[r * c + i] += s * (d[i] * g[i] - centre - xh * mean_dx);
            dg[i] += d[i] * xh;
        }
        if !db.is_empty() {
            add(db, d);
        }
    }
}

/// Turns each head's vectors `x` `[rows, T, hd]` by RoPE in place: pair `(i, i + hd/2)` at
/// position `t` by `t·θ_i`, `θ_i = ROPE_BASE^(−2i/hd)`; `sign = −1` turns back (the backward
/// pass of a rotation is its inverse).
pub fn rope(x: &mut [f32], t: usize, hd: usize, sign: f32) {
    let half = hd / 2;
    let angles: Vec<(f32, f32)> = (0..t)
        .flat_map(|pos| {
            (0..half).map(move |i| {
                let theta = ROPE_BASE.powf(-2.0 * i as f32 / hd as f32);
                let a = pos as f32 * theta;
                (a.cos(), sign * a.sin())
            })
        })
        .collect();
    for seq in x.chunks_exact_mut(t * hd) {
        for (pos, v) in seq.chunks_exact_mut(hd).enumerate() {
            for i in 0..half {
                let (cos, sin) = angles[pos * half + i];
                let (a, b) = (v[i], v[i + half]);
                v[i] = a * cos - b * sin;
                v[i + half] = b * cos + a * sin;
            }
        }
    }
}

/// The attention kernels' layout `[B, NH, T, hd]` against the projections' rows `[B, T, …]`.
#[derive(Clone, Copy)]
struct Heads {
    b: usize,
    t: usize,
    nh: usize,
    hd: usize,
}

impl Heads {
    /// Copies the `C` columns from `offset` of rows of width `stride` into `[B, NH, T, hd]`.
    fn split(self, src: &[f32], dst: &mut [f32], stride: usize, offset: usize) {
        let Heads { b, t, nh, hd } = self;
        for bi in 0..b {
            for ti in 0..t {
                for h in 0..nh {
                    let from = (bi * t + ti) * stride + offset + h * hd;
                    let to = ((bi * nh + h) * t + ti) * hd;
                    dst[to..to + hd].copy_from_slice(&src[from..from + hd]);
                }
            }
        }
    }

    /// Adds `[B, NH, T, hd]` into the columns from `offset` of rows of width `stride`.
    fn merge(self, src: &[f32], dst: &mut [f32], stride: usize, offset: usize) {
        let Heads { b, t, nh, hd } = self;
        for bi in 0..b {
            for ti in 0..t {
                for h in 0..nh {
                    let to = (bi * t + ti) * stride + offset + h * hd;
                    let from = ((bi * nh + h) * t + ti) * hd;
                    for (a, &v) in dst[to..to + hd].iter_mut().zip(&src[from..from + hd]) {
                        *a += v;
                    }
                }
            }
        }
    }
}

/// What the forward pass keeps for the backward pass, per layer.
#[derive(Clone, Default)]
struct LayerActs {
    x_in: Vec<f32>,
    n1: Vec<f32>,
    stats1: (Vec<f32>, Vec<f32>),
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    att: Vec<f32>,
    x_mid: Vec<f32>,
    n2: Vec<f32>,
    stats2: (Vec<f32>, Vec<f32>),
    h: Vec<f32>,
    a: Vec<f32>,
}

/// A forward pass's results: the loss, the logits `[B, T, V]` and what backward needs.
pub struct Forward {
    pub loss: f32,
    pub logits: Vec<f32>,
    /// Where a NaN or an infinity first appeared ("layer 2, attention"), if one did.
    pub nonfinite: Option<String>,
    layers: Vec<LayerActs>,
    x_final: Vec<f32>,
    nf: Vec<f32>,
    statsf: (Vec<f32>, Vec<f32>),
    /// Softmax of the logits.
    probs: Vec<f32>,
    b: usize,
    t: usize,
}

impl Forward {
    /// Per layer, the feed-forward unit's outputs: the share exactly 0 and the share at most
    /// 0.01 in magnitude.
    pub fn sparsity(&self) -> Vec<(f32, f32)> {
        self.layers
            .iter()
            .map(|l| {
                let n = l.a.len().max(1) as f32;
                let zero = l.a.iter().filter(|v| **v == 0.0).count() as f32 / n;
                let small = l.a.iter().filter(|v| v.abs() <= 0.01).count() as f32 / n;
                (zero, small)
            })
            .collect()
    }
}

fn norm_stats(bt: usize) -> (Vec<f32>, Vec<f32>) {
    (vec![0.0; bt], vec![0.0; bt])
}

/// The loss of `tokens` `[B, T]` against `targets` `[B, T]` ([`IGNORE`] where none). `T` must
/// pass [`Config::check_len`].
pub fn forward(cfg: &Config, p: &[f32], tokens: &[u32], targets: &[u32], b: usize, t: usize) -> Forward {
    forward_impl(cfg, p, tokens, targets, b, t, None)
}

/// [`forward`], and each layer's attention weights `[B, NH, T, T]`.
pub fn forward_with_maps(
    cfg: &Config,
    p: &[f32],
    tokens: &[u32],
    targets: &[u32],
    b: usize,
    t: usize,
) -> (Forward, Vec<Vec<f32>>) {
    let mut maps = Vec::new();
    let fw = forward_impl(cfg, p, tokens, targets, b, t, Some(&mut maps));
    (fw, maps)
}

fn forward_impl(
    cfg: &Config,
    p: &[f32],
    tokens: &[u32],
    targets: &[u32],
    b: usize,
    t: usize,
    mut maps: Option<&mut Vec<Vec<f32>>>,
) -> Forward {
    let (c, nh, hd, f, v) = (cfg.width, cfg.heads, cfg.head_dim(), cfg.ffn, cfg.vocab);
    let fw1 = cfg.fc1_width();
    let layout = cfg.layout();
    let bt = b * t;
    let mut nonfinite = None;
    let mut note = |ok: bool, place: &dyn Fn() -> String| {
        if !ok && nonfinite.is_none() {
            nonfinite = Some(place());
        }
    };
    let mut x = vec![0.0f32; bt * c];
    let wte = span(p, layout.wte);
    for (r, &tok) in tokens.iter().enumerate() {
        let row = &mut x[r * c..(r + 1) * c];
        row.copy_from_slice(&wte[tok as usize * c..(tok as usize + 1) * c]);
        if cfg.positions == Positions::Learned {
            let pos = r % t;
            add(row, &span(p, layout.wpe)[pos * c..(pos + 1) * c]);
        }
    }
    note(all_finite(&x), &|| "the embeddings".into());
    let attention =
        Attention { shape: Shape { batch: b, heads: nh, n: t, d: hd }, variant: cfg.attention, mask: Mask::Causal };
    let heads = Heads { b, t, nh, hd };
    let mut layers = Vec::with_capacity(cfg.layers);
    for (li, l) in layout.layers.iter().enumerate() {
        let mut a =
            LayerActs { x_in: x.clone(), n1: vec![0.0; bt * c], stats1: norm_stats(bt), ..LayerActs::default() };
        norm_forward(cfg.norm, &mut a.n1, &mut a.stats1.0, &mut a.stats1.1, &x, span(p, l.ln1), span(p, l.ln1_b), c);
        let mut qkv = vec![0.0; bt * 3 * c];
        matmul_forward(&mut qkv, &a.n1, span(p, l.qkv), None, bt, c, 3 * c);
        for (buf, offset) in [(&mut a.q, 0), (&mut a.k, c), (&mut a.v, 2 * c)] {
            *buf = vec![0.0; bt * c];
            heads.split(&qkv, buf, 3 * c, offset);
        }
        if cfg.positions == Positions::Rope {
            rope(&mut a.q, t, hd, 1.0);
            rope(&mut a.k, t, hd, 1.0);
        }
        let mut att_heads = vec![0.0; bt * c];
        let mut weights = maps.as_ref().map(|_| vec![0.0f32; b * nh * t * t]);
        attention_forward(
            &attention,
            &a.q,
            &a.k,
            &a.v,
            &mut att_heads,
            Extras { weights: weights.as_deref_mut(), stats: None },
        )
        .expect("shapes are consistent");
        if let (Some(maps), Some(w)) = (maps.as_mut(), weights) {
            maps.push(w);
        }
        a.att = vec![0.0; bt * c];
        heads.merge(&att_heads, &mut a.att, c, 0);
        let mut proj = vec![0.0; bt * c];
        matmul_forward(&mut proj, &a.att, span(p, l.proj), None, bt, c, c);
        add(&mut x, &proj);
        note(all_finite(&x), &|| format!("layer {}, attention", li + 1));
        a.x_mid = x.clone();
        a.n2 = vec![0.0; bt * c];
        a.stats2 = norm_stats(bt);
        norm_forward(cfg.norm, &mut a.n2, &mut a.stats2.0, &mut a.stats2.1, &x, span(p, l.ln2), span(p, l.ln2_b), c);
        a.h = vec![0.0; bt * fw1];
        matmul_forward(&mut a.h, &a.n2, span(p, l.fc1), Some(span(p, l.b1)), bt, c, fw1);
        a.a = vec![0.0; bt * f];
        hidden_forward(cfg.hidden, &a.h, f, &mut a.a);
        let mut out = vec![0.0; bt * c];
        matmul_forward(&mut out, &a.a, span(p, l.fc2), Some(span(p, l.b2)), bt, f, c);
        add(&mut x, &out);
        note(all_finite(&x), &|| format!("layer {}, feed-forward", li + 1));
        layers.push(a);
    }
    let mut nf = vec![0.0; bt * c];
    let mut statsf = norm_stats(bt);
    norm_forward(cfg.norm, &mut nf, &mut statsf.0, &mut statsf.1, &x, span(p, layout.lnf), span(p, layout.lnf_b), c);
    let w_out = if cfg.tied { wte } else { span(p, layout.out) };
    // logits = nf · W_outᵀ, W_out is [V][C].
    let mut logits = vec![0.0; bt * v];
    for r in 0..bt {
        let row = &nf[r * c..(r + 1) * c];
        for tok in 0..v {
            logits[r * v + tok] = row.iter().zip(&w_out[tok * c..(tok + 1) * c]).map(|(a, b)| a * b).sum();
        }
    }
    note(all_finite(&logits), &|| "the output layer".into());
    let mut probs = logits.clone();
    let mut loss = 0.0f64;
    let counted = targets.iter().filter(|&&y| y != IGNORE).count().max(1);
    for r in 0..bt {
        let row = &mut probs[r * v..(r + 1) * v];
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0f32;
        for z in row.iter_mut() {
            *z = (*z - max).exp();
            sum += *z;
        }
        row.iter_mut().for_each(|z| *z /= sum);
        if targets[r] != IGNORE {
            loss -= (row[targets[r] as usize].max(f32::MIN_POSITIVE) as f64).ln();
        }
    }
    let loss = (loss / counted as f64) as f32;
    note(loss.is_finite(), &|| "the loss".into());
    Forward { loss, logits, nonfinite, layers, x_final: x, nf, statsf, probs, b, t }
}

/// `∂loss/∂p` for the pass `fw` of `tokens`, `targets` (accumulated into `grads`).
pub fn backward(cfg: &Config, p: &[f32], fw: &Forward, tokens: &[u32], targets: &[u32], grads: &mut [f32]) {
    let (c, nh, hd, f, v) = (cfg.width, cfg.heads, cfg.head_dim(), cfg.ffn, cfg.vocab);
    let fw1 = cfg.fc1_width();
    let (b, t) = (fw.b, fw.t);
    let bt = b * t;
    let layout = cfg.layout();
    let counted = targets.iter().filter(|&&y| y != IGNORE).count().max(1) as f32;
    // dlogits = (probs − onehot)/count where a target counts.
    let mut dlogits = vec![0.0f32; bt * v];
    for r in 0..bt {
        if targets[r] == IGNORE {
            continue;
        }
        for tok in 0..v {
            let y = if tok as u32 == targets[r] { 1.0 } else { 0.0 };
            dlogits[r * v + tok] = (fw.probs[r * v + tok] - y) / counted;
        }
    }
    let out_span = if cfg.tied { layout.wte } else { layout.out };
    let w_out = span(p, out_span).to_vec();
    let mut dnf = vec![0.0f32; bt * c];
    {
        let dw = span_mut(grads, out_span);
        for r in 0..bt {
            for tok in 0..v {
                let d = dlogits[r * v + tok];
                if d == 0.0 {
                    continue;
                }
                for i in 0..c {
                    dnf[r * c + i] += d * w_out[tok * c + i];
                    dw[tok * c + i] += d * fw.nf[r * c + i];
                }
            }
        }
    }
    let mut dx = vec![0.0f32; bt * c];
    let norm_back = |grads: &mut [f32],
                     dx: &mut [f32],
                     dy: &[f32],
                     x: &[f32],
                     (g, b): ((usize, usize), (usize, usize)),
                     stats: &(Vec<f32>, Vec<f32>)| {
        let (dg, db) = spans_mut(grads, g, b);
        norm_backward(cfg.norm, dx, dg, db, dy, x, span(p, g), (&stats.0, &stats.1), c);
    };
    norm_back(grads, &mut dx, &dnf, &fw.x_final, (layout.lnf, layout.lnf_b), &fw.statsf);
    let attention =
        Attention { shape: Shape { batch: b, heads: nh, n: t, d: hd }, variant: cfg.attention, mask: Mask::Causal };
    let heads = Heads { b, t, nh, hd };
    for (l, a) in layout.layers.iter().zip(&fw.layers).rev() {
        // x_out = x_mid + fc2(unit(fc1(n2)))
        let mut da = vec![0.0f32; bt * f];
        {
            let (dw, db) = spans_mut(grads, l.fc2, l.b2);
            matmul_backward(&mut da, dw, Some(db), &dx, &a.a, span(p, l.fc2), bt, f, c);
        }
        let mut dh = vec![0.0f32; bt * fw1];
        hidden_backward(cfg.hidden, &a.h, f, &da, &mut dh);
        let mut dn2 = vec![0.0f32; bt * c];
        {
            let (dw, db) = spans_mut(grads, l.fc1, l.b1);
            matmul_backward(&mut dn2, dw, Some(db), &dh, &a.n2, span(p, l.fc1), bt, c, fw1);
        }
        norm_back(grads, &mut dx, &dn2, &a.x_mid, (l.ln2, l.ln2_b), &a.stats2);
        // x_mid = x_in + proj(attention(rope(qkv(n1))))
        let mut datt = vec![0.0f32; bt * c];
        matmul_backward(&mut datt, span_mut(grads, l.proj), None, &dx, &a.att, span(p, l.proj), bt, c, c);
        let mut datt_heads = vec![0.0f32; bt * c];
        heads.split(&datt, &mut datt_heads, c, 0);
        let (mut dq, mut dk, mut dv) = (vec![0.0f32; bt * c], vec![0.0f32; bt * c], vec![0.0f32; bt * c]);
        attention_backward(
            &attention,
            &a.q,
            &a.k,
            &a.v,
            &datt_heads,
            Gradients { dq: &mut dq, dk: &mut dk, dv: &mut dv },
        )
        .expect("shapes are consistent");
        if cfg.positions == Positions::Rope {
            rope(&mut dq, t, hd, -1.0);
            rope(&mut dk, t, hd, -1.0);
        }
        let mut dqkv = vec![0.0f32; bt * 3 * c];
        for (g, offset) in [(&dq, 0), (&dk, c), (&dv, 2 * c)] {
            heads.merge(g, &mut dqkv, 3 * c, offset);
        }
        let mut dn1 = vec![0.0f32; bt * c];
        matmul_backward(&mut dn1, span_mut(grads, l.qkv), None, &dqkv, &a.n1, span(p, l.qkv), bt, c, 3 * c);
        norm_back(grads, &mut dx, &dn1, &a.x_in, (l.ln1, l.ln1_b), &a.stats1);
    }
    // x0 = wte[tok] + wpe[pos]
    for (r, &tok) in tokens.iter().enumerate() {
        let d = &dx[r * c..(r + 1) * c];
        add(&mut span_mut(grads, layout.wte)[tok as usize * c..(tok as usize + 1) * c], d);
        if cfg.positions == Positions::Learned {
            let pos = r % t;
            add(&mut span_mut(grads, layout.wpe)[pos * c..(pos + 1) * c], d);
        }
    }
}

fn add(into: &mut [f32], from: &[f32]) {
    into.iter_mut().zip(from).for_each(|(a, b)| *a += b);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        activation::{Activation, Gate},
        attention::{Lssa, LssaScale, SoftmaxAlgorithm},
    };

    fn tiny(attention: Variant, hidden: Hidden, norm: Norm, positions: Positions, tied: bool) -> Config {
        Config {
            vocab: 7,
            max_len: 6,
            layers: 2,
            width: 8,
            heads: 2,
            ffn: 12,
            attention,
            hidden,
            norm,
            positions,
            tied,
        }
    }

    /// Every normaliser and unit the Model lab offers.
    fn variants() -> Vec<Variant> {
        vec![
            Variant::Softmax(SoftmaxAlgorithm::ThreePass),
            Variant::Softmax(SoftmaxAlgorithm::Online),
            Variant::Lssa(Lssa { qk_norm: false, scale: LssaScale::InvSqrtD }),
            Variant::Lssa(Lssa::DEFAULT),
            Variant::LSSAR_DEFAULT,
            Variant::Sigmoid { bias: Some(-(5.0f32).ln()) },
            Variant::Relu,
            Variant::Linear,
        ]
    }

    fn units() -> Vec<Hidden> {
        vec![
            Hidden::Each(Activation::Relu),
            Hidden::Each(Activation::Gelu),
            Hidden::Each(Activation::Silu { beta: 1.0 }),
            Hidden::Each(Activation::SquaredRelu),
            Hidden::Each(Activation::CrRelu { eps: 0.01 }),
            Hidden::PolyNorm([0.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0]),
            Hidden::Gated(Gate::SwiGlu { beta: 1.0 }),
            Hidden::Gated(Gate::GeGlu),
        ]
    }

    /// Directional derivatives by central differences (f64 accumulation of an f32 model, so a
    /// few random directions and a loose bound) against `g·u`.
    #[test]
    fn gradient_matches_finite_differences_for_each_normaliser_and_activation() {
        let (b, t) = (2, 5);
        let tokens: Vec<u32> = (0..b * t).map(|i| ((i * 3 + 1) % 7) as u32).collect();
        let mut targets: Vec<u32> = (0..b * t).map(|i| ((i * 5 + 2) % 7) as u32).collect();
        targets[0] = IGNORE;
        let mut failures = Vec::new();
        for (n, variant) in variants().into_iter().enumerate() {
            for (m, act) in units().into_iter().enumerate() {
                // Norms, positions and tying take turns over the pairs.
                let norm = if (n + m) % 2 == 0 { Norm::Rms } else { Norm::Layer };
                let positions = [Positions::None, Positions::Learned, Positions::Rope][(n + 2 * m) % 3];
                let cfg = tiny(variant, act, norm, positions, m % 2 == 1);
                // Bigger weights than at initialisation, so every path carries gradient.
                let p: Vec<f32> = cfg.init(3).iter().map(|w| if *w == 1.0 { 1.0 } else { w * 20.0 }).collect();
                let fw = forward(&cfg, &p, &tokens, &targets, b, t);
                let mut g = vec![0.0f32; p.len()];
                backward(&cfg, &p, &fw, &tokens, &targets, &mut g);
                let mut rng = Rng::new(11);
                for _ in 0..4 {
                    let mut u = vec![0.0f32; p.len()];
                    rng.fill_normal(&mut u, 1.0);
                    let norm = u.iter().map(|x| x * x).sum::<f32>().sqrt();
                    u.iter_mut().for_each(|x| *x /= norm);
                    let analytic: f64 = g.iter().zip(&u).map(|(a, b)| (*a as f64) * (*b as f64)).sum();
                    // A step small enough that ReLU's kinks are rarely crossed and large enough
                    // for an f32 loss; a kink crossed at one step is rarely crossed at the
                    // other, so the closer of the two counts.
                    let fd = [5e-4f32, 2.5e-4].map(|h| {
                        let at = |s: f32| {
                            let q: Vec<f32> = p.iter().zip(&u).map(|(a, d)| a + s * h * d).collect();
                            forward(&cfg, &q, &tokens, &targets, b, t).loss as f64
                        };
                        (at(1.0) - at(-1.0)) / (2.0 * h as f64)
                    });
                    let fd = if (fd[0] - analytic).abs() <= (fd[1] - analytic).abs() { fd[0] } else { fd[1] };
                    if (fd - analytic).abs() >= 2e-3 + 2e-2 * analytic.abs() {
                        failures.push(format!("{variant:?} {act:?}: finite difference {fd} vs analytic {analytic}"));
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }
}
