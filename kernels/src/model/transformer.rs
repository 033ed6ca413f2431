//! A decoder-only transformer, forward and backward, in f32.
//!
//! Shapes: `B` sequences of `T` tokens, width `C`, `NH` heads of `hd = C/NH`, feed-forward
//! width `F`, vocabulary `V`. Per layer: `x += proj(attention(rmsnorm(x)))`, then
//! `x += W₂·act(W₁·rmsnorm(x) + b₁) + b₂` (pre-norm); then a final RMSNorm and the logits
//! `x·W_outᵀ` (`W_out` is the token embedding when tied). Attention is any variant of
//! [`crate::attention`] with a causal mask; the activation any elementwise one of
//! [`crate::activation`]. Loss: mean cross-entropy over the positions with a target.
//!
//! Weights are row-major `[in][out]` (a matmul is `out[n][o] = Σ_i in[n][i]·w[i][o]`).

use crate::{
    activation::{activation_backward, activation_forward, Activation},
    attention::{attention_backward, attention_forward, Attention, Extras, Gradients, Mask, Shape, Variant},
    Rng,
};

use super::matmul::{matmul_backward, matmul_forward};

/// A target that counts for nothing (a prompt position, padding).
pub const IGNORE: u32 = u32::MAX;
const NORM_EPS: f32 = 1e-5;

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
    pub activation: Activation,
    pub learned_positions: bool,
    pub tied: bool,
}

/// Where each parameter tensor starts in the flat parameter vector, and its length.
#[derive(Clone, Debug)]
pub struct Layout {
    pub wte: (usize, usize),
    pub wpe: (usize, usize),
    pub layers: Vec<LayerLayout>,
    pub lnf: (usize, usize),
    pub out: (usize, usize),
    pub total: usize,
}

#[derive(Clone, Copy, Debug)]
pub struct LayerLayout {
    pub ln1: (usize, usize),
    pub qkv: (usize, usize),
    pub proj: (usize, usize),
    pub ln2: (usize, usize),
    pub fc1: (usize, usize),
    pub b1: (usize, usize),
    pub fc2: (usize, usize),
    pub b2: (usize, usize),
}

impl Config {
    pub fn head_dim(&self) -> usize {
        self.width / self.heads
    }

    /// Whether sequences of `t` tokens fit: learned positions have `max_len` rows (without
    /// them any length runs). [`forward`] assumes it.
    pub fn check_len(&self, t: usize) -> Result<(), String> {
        if self.learned_positions && t > self.max_len {
            return Err(format!(
                "a sequence of {t} tokens: learned positions cover {} (positions none or RoPE run at any length)",
                self.max_len
            ));
        }
        Ok(())
    }

    pub fn layout(&self) -> Layout {
        let (v, c, f) = (self.vocab, self.width, self.ffn);
        let mut at = 0;
        let mut take = |len: usize| {
            let span = (at, len);
            at += len;
            span
        };
        let wte = take(v * c);
        let wpe = take(if self.learned_positions { self.max_len * c } else { 0 });
        let layers = (0..self.layers)
            .map(|_| LayerLayout {
                ln1: take(c),
                qkv: take(c * 3 * c),
                proj: take(c * c),
                ln2: take(c),
                fc1: take(c * f),
                b1: take(f),
                fc2: take(f * c),
                b2: take(c),
            })
            .collect();
        let lnf = take(c);
        let out = take(if self.tied { 0 } else { v * c });
        Layout { wte, wpe, layers, lnf, out, total: at }
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
}

fn span(p: &[f32], (at, len): (usize, usize)) -> &[f32] {
    &p[at..at + len]
}

fn span_mut(p: &mut [f32], (at, len): (usize, usize)) -> &mut [f32] {
    &mut p[at..at + len]
}

/// RMSNorm over rows of `C`: `y = x·rstd·g`, `rstd = 1/√(mean(x²) + ε)`; keeps `rstd` per row.
pub fn rmsnorm_forward(y: &mut [f32], rstd: &mut [f32], x: &[f32], g: &[f32], c: usize) {
    for (r, s) in rstd.iter_mut().enumerate() {
        let row = &x[r * c..(r + 1) * c];
        let ms = row.iter().map(|v| v * v).sum::<f32>() / c as f32;
        *s = 1.0 / (ms + NORM_EPS).sqrt();
        for ((out, &v), &gain) in y[r * c..(r + 1) * c].iter_mut().zip(row).zip(g) {
            *out = v * *s * gain;
        }
    }
}

/// `dx += rstd·(dy·g) − x·rstd³/C·Σ(dy·g·x)`, `dg += Σ_rows dy·x·rstd`.
pub fn rmsnorm_backward(dx: &mut [f32], dg: &mut [f32], dy: &[f32], x: &[f32], g: &[f32], rstd: &[f32], c: usize) {
    for (r, &s) in rstd.iter().enumerate() {
        let (row, d) = (&x[r * c..(r + 1) * c], &dy[r * c..(r + 1) * c]);
        let dot: f32 = row.iter().zip(d).zip(g).map(|((v, dv), gain)| v * dv * gain).sum();
        let k = s * s * s / c as f32 * dot;
        for i in 0..c {
            dx[r * c + i] += s * d[i] * g[i] - row[i] * k;
            dg[i] += d[i] * row[i] * s;
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
    rstd1: Vec<f32>,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    att: Vec<f32>,
    x_mid: Vec<f32>,
    n2: Vec<f32>,
    rstd2: Vec<f32>,
    h: Vec<f32>,
    a: Vec<f32>,
}

/// A forward pass's results: the loss, the logits `[B, T, V]` and what backward needs.
pub struct Forward {
    pub loss: f32,
    pub logits: Vec<f32>,
    layers: Vec<LayerActs>,
    x_final: Vec<f32>,
    nf: Vec<f32>,
    rstdf: Vec<f32>,
    /// Softmax of the logits.
    probs: Vec<f32>,
    b: usize,
    t: usize,
}

/// The loss of `tokens` `[B, T]` against `targets` `[B, T]` ([`IGNORE`] where none). `T` must
/// pass [`Config::check_len`].
pub fn forward(cfg: &Config, p: &[f32], tokens: &[u32], targets: &[u32], b: usize, t: usize) -> Forward {
    let (c, nh, hd, f, v) = (cfg.width, cfg.heads, cfg.head_dim(), cfg.ffn, cfg.vocab);
    let layout = cfg.layout();
    let bt = b * t;
    let mut x = vec![0.0f32; bt * c];
    let wte = span(p, layout.wte);
    for (r, &tok) in tokens.iter().enumerate() {
        let row = &mut x[r * c..(r + 1) * c];
        row.copy_from_slice(&wte[tok as usize * c..(tok as usize + 1) * c]);
        if cfg.learned_positions {
            let pos = r % t;
            for (a, &e) in row.iter_mut().zip(&span(p, layout.wpe)[pos * c..(pos + 1) * c]) {
                *a += e;
            }
        }
    }
    let attention =
        Attention { shape: Shape { batch: b, heads: nh, n: t, d: hd }, variant: cfg.attention, mask: Mask::Causal };
    let heads = Heads { b, t, nh, hd };
    let mut layers = Vec::with_capacity(cfg.layers);
    for l in &layout.layers {
        let mut a = LayerActs { x_in: x.clone(), n1: vec![0.0; bt * c], rstd1: vec![0.0; bt], ..LayerActs::default() };
        rmsnorm_forward(&mut a.n1, &mut a.rstd1, &x, span(p, l.ln1), c);
        let mut qkv = vec![0.0; bt * 3 * c];
        matmul_forward(&mut qkv, &a.n1, span(p, l.qkv), None, bt, c, 3 * c);
        for (buf, offset) in [(&mut a.q, 0), (&mut a.k, c), (&mut a.v, 2 * c)] {
            *buf = vec![0.0; bt * c];
            heads.split(&qkv, buf, 3 * c, offset);
        }
        let mut att_heads = vec![0.0; bt * c];
        attention_forward(&attention, &a.q, &a.k, &a.v, &mut att_heads, Extras::default())
            .expect("shapes are consistent");
        a.att = vec![0.0; bt * c];
        heads.merge(&att_heads, &mut a.att, c, 0);
        let mut proj = vec![0.0; bt * c];
        matmul_forward(&mut proj, &a.att, span(p, l.proj), None, bt, c, c);
        x.iter_mut().zip(&proj).for_each(|(x, d)| *x += d);
        a.x_mid = x.clone();
        a.n2 = vec![0.0; bt * c];
        a.rstd2 = vec![0.0; bt];
        rmsnorm_forward(&mut a.n2, &mut a.rstd2, &x, span(p, l.ln2), c);
        a.h = vec![0.0; bt * f];
        matmul_forward(&mut a.h, &a.n2, span(p, l.fc1), Some(span(p, l.b1)), bt, c, f);
        a.a = vec![0.0; bt * f];
        activation_forward(cfg.activation, &a.h, &mut a.a);
        let mut out = vec![0.0; bt * c];
        matmul_forward(&mut out, &a.a, span(p, l.fc2), Some(span(p, l.b2)), bt, f, c);
        x.iter_mut().zip(&out).for_each(|(x, d)| *x += d);
        layers.push(a);
    }
    let mut nf = vec![0.0; bt * c];
    let mut rstdf = vec![0.0; bt];
    rmsnorm_forward(&mut nf, &mut rstdf, &x, span(p, layout.lnf), c);
    let w_out = if cfg.tied { wte } else { span(p, layout.out) };
    // logits = nf · W_outᵀ, W_out is [V][C].
    let mut logits = vec![0.0; bt * v];
    for r in 0..bt {
        let row = &nf[r * c..(r + 1) * c];
        for tok in 0..v {
            logits[r * v + tok] = row.iter().zip(&w_out[tok * c..(tok + 1) * c]).map(|(a, b)| a * b).sum();
        }
    }
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
    Forward { loss: (loss / counted as f64) as f32, logits, layers, x_final: x, nf, rstdf, probs, b, t }
}

/// `∂loss/∂p` for the pass `fw` of `tokens`, `targets` (accumulated into `grads`).
pub fn backward(cfg: &Config, p: &[f32], fw: &Forward, tokens: &[u32], targets: &[u32], grads: &mut [f32]) {
    let (c, nh, hd, f, v) = (cfg.width, cfg.heads, cfg.head_dim(), cfg.ffn, cfg.vocab);
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
    rmsnorm_backward(&mut dx, span_mut(grads, layout.lnf), &dnf, &fw.x_final, span(p, layout.lnf), &fw.rstdf, c);
    let attention =
        Attention { shape: Shape { batch: b, heads: nh, n: t, d: hd }, variant: cfg.attention, mask: Mask::Causal };
    let heads = Heads { b, t, nh, hd };
    for (l, a) in layout.layers.iter().zip(&fw.layers).rev() {
        // x_out = x_mid + fc2(act(fc1(n2)))
        let mut da = vec![0.0f32; bt * f];
        {
            let (mut dw, mut db) = (vec![0.0; f * c], vec![0.0; c]);
            matmul_backward(&mut da, &mut dw, Some(&mut db), &dx, &a.a, span(p, l.fc2), bt, f, c);
            add(span_mut(grads, l.fc2), &dw);
            add(span_mut(grads, l.b2), &db);
        }
        let mut dh = vec![0.0f32; bt * f];
        activation_backward(cfg.activation, &a.h, &da, &mut dh);
        let mut dn2 = vec![0.0f32; bt * c];
        {
            let (mut dw, mut db) = (vec![0.0; c * f], vec![0.0; f]);
            matmul_backward(&mut dn2, &mut dw, Some(&mut db), &dh, &a.n2, span(p, l.fc1), bt, c, f);
            add(span_mut(grads, l.fc1), &dw);
            add(span_mut(grads, l.b1), &db);
        }
        rmsnorm_backward(&mut dx, span_mut(grads, l.ln2), &dn2, &a.x_mid, span(p, l.ln2), &a.rstd2, c);
        // x_mid = x_in + proj(attention(qkv(n1)))
        let mut datt = vec![0.0f32; bt * c];
        {
            let mut dw = vec![0.0; c * c];
            matmul_backward(&mut datt, &mut dw, None, &dx, &a.att, span(p, l.proj), bt, c, c);
            add(span_mut(grads, l.proj), &dw);
        }
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
        let mut dqkv = vec![0.0f32; bt * 3 * c];
        for (g, offset) in [(&dq, 0), (&dk, c), (&dv, 2 * c)] {
            heads.merge(g, &mut dqkv, 3 * c, offset);
        }
        let mut dn1 = vec![0.0f32; bt * c];
        {
            let mut dw = vec![0.0; c * 3 * c];
            matmul_backward(&mut dn1, &mut dw, None, &dqkv, &a.n1, span(p, l.qkv), bt, c, 3 * c);
            add(span_mut(grads, l.qkv), &dw);
        }
        rmsnorm_backward(&mut dx, span_mut(grads, l.ln1), &dn1, &a.x_in, span(p, l.ln1), &a.rstd1, c);
    }
    // x0 = wte[tok] + wpe[pos]
    for (r, &tok) in tokens.iter().enumerate() {
        let d = &dx[r * c..(r + 1) * c];
        add(&mut span_mut(grads, layout.wte)[tok as usize * c..(tok as usize + 1) * c], d);
        if cfg.learned_positions {
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
    use crate::attention::{Lssa, LssaScale, SoftmaxAlgorithm};

    fn tiny(attention: Variant, activation: Activation, learned_positions: bool, tied: bool) -> Config {
        Config {
            vocab: 7,
            max_len: 6,
            layers: 2,
            width: 8,
            heads: 2,
            ffn: 12,
            attention,
            activation,
            learned_positions,
            tied,
        }
    }

    /// Directional derivatives by central differences (f64 accumulation of an f32 model, so a
    /// few random directions and a loose bound) against `g·u`.
    #[test]
    fn gradient_matches_finite_differences_for_each_normaliser_and_activation() {
        let variants = [
            Variant::Softmax(SoftmaxAlgorithm::ThreePass),
            Variant::Lssa(Lssa { qk_norm: false, scale: LssaScale::InvSqrtD }),
            Variant::Sigmoid { bias: None },
        ];
        let activations = [Activation::Relu, Activation::Gelu, Activation::Silu { beta: 1.0 }];
        let (b, t) = (2, 5);
        let tokens: Vec<u32> = (0..b * t).map(|i| ((i * 3 + 1) % 7) as u32).collect();
        let mut targets: Vec<u32> = (0..b * t).map(|i| ((i * 5 + 2) % 7) as u32).collect();
        targets[0] = IGNORE;
        let mut failures = Vec::new();
        for (n, &variant) in variants.iter().enumerate() {
            for (m, &act) in activations.iter().enumerate() {
                let cfg = tiny(variant, act, (n + m) % 2 == 0, m % 2 == 1);
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
