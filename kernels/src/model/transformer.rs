//! A decoder-only transformer, forward and backward, in f32. docs/MATH.md, “The transformer”.
//!
//! Shapes: `B` sequences of `T` tokens, width `C`, `NH` heads of `hd = C/NH`, feed-forward
//! width `F`, vocabulary `V`. Per layer (pre-norm): `x += proj(attention(norm₁(x)))`, then
//! `x += W₂·unit(W₁·norm₂(x) + b₁) + b₂`; then a final norm and the logits `x·W_outᵀ`
//! (`W_out` is the token embedding when tied). The norms are RMSNorm or LayerNorm. Attention
//! is any variant of [`crate::attention`] under a causal mask, with RoPE on q and k or not;
//! the unit any of [`Hidden`](crate::mlp::Hidden) (an elementwise activation, PolyNorm over each token's `F`
//! values, or a gated unit such as SwiGLU, for which `W₁` is `C × 2F`, `[gate | up]`).
//! Loss: mean cross-entropy over the positions with a target.
//!
//! Weights are row-major `[in][out]` (a matmul is `out[n][o] = Σ_i in[n][i]·w[i][o]`).
//!
//! After llm.c, each layer is a forward and a backward of its own, with its shapes at the top
//! of its file: [`super::embedding`], [`super::norm`] (RMSNorm, LayerNorm), [`super::matmul`],
//! [`super::rope`], [`crate::attention`], [`crate::mlp::hidden_forward`] (the unit) and
//! [`super::output`] (logits, cross-entropy). This file chains them and keeps what the backward
//! pass needs; [`super::config`] holds the shape and the flat parameter vector's layout.

use super::{
    config::span,
    embedding::{embedding_backward, embedding_forward},
    matmul::{matmul_backward, matmul_forward},
    output::{crossentropy_backward, crossentropy_forward, logits_backward, logits_forward},
    rope::{rope_backward, rope_forward},
};
pub use super::{
    config::{all_finite, Config, LayerLayout, Layout, Positions, Tensor},
    norm::{norm_backward, norm_forward, Norm},
    output::IGNORE,
    rope::{rope, ROPE_BASE},
};
use crate::{
    attention::{attention_backward, attention_forward, Attention, Extras, Gradients, Mask, Shape},
    mlp::{hidden_backward, hidden_forward},
};

fn span_mut(p: &mut [f32], (at, len): (usize, usize)) -> &mut [f32] {
    &mut p[at..at + len]
}

/// Two tensors of `p` at once, `a` before `b` (a weight and its bias, a gain and its bias).
fn spans_mut(p: &mut [f32], a: (usize, usize), b: (usize, usize)) -> (&mut [f32], &mut [f32]) {
    let (first, rest) = p.split_at_mut(b.0);
    (&mut first[a.0..a.0 + a.1], &mut rest[..b.1])
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
    let wpe = (cfg.positions == Positions::Learned).then(|| span(p, layout.wpe));
    embedding_forward(&mut x, tokens, wte, wpe, t, c);
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
            rope_forward(&mut a.q, t, hd);
            rope_forward(&mut a.k, t, hd);
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
    logits_forward(&mut logits, &nf, w_out, c, v);
    note(all_finite(&logits), &|| "the output layer".into());
    let mut probs = vec![0.0; bt * v];
    let loss = crossentropy_forward(&mut probs, &logits, targets, v);
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
    // dlogits = (probs − onehot)/count where a target counts.
    let mut dlogits = vec![0.0f32; bt * v];
    crossentropy_backward(&mut dlogits, &fw.probs, targets, v);
    let out_span = if cfg.tied { layout.wte } else { layout.out };
    let mut dnf = vec![0.0f32; bt * c];
    logits_backward(&mut dnf, span_mut(grads, out_span), &dlogits, &fw.nf, span(p, out_span), c, v);
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
            rope_backward(&mut dq, t, hd);
            rope_backward(&mut dk, t, hd);
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
    let (dwte, dwpe) = spans_mut(grads, layout.wte, layout.wpe);
    let dwpe = (cfg.positions == Positions::Learned).then_some(dwpe);
    embedding_backward(dwte, dwpe, &dx, tokens, t, c);
}

fn add(into: &mut [f32], from: &[f32]) {
    into.iter_mut().zip(from).for_each(|(a, b)| *a += b);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        activation::{Activation, Gate},
        attention::{Lssa, LssaScale, SoftmaxAlgorithm, Variant},
        mlp::Hidden,
        Rng,
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
