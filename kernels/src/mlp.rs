//! A small multilayer perceptron for the Activation lab's fitting race: one input, one or two
//! hidden layers with the activation under test, one linear output, mean squared error, Adam.
//! Written after llm.c: each layer a forward and a backward over caller-visible buffers, the
//! shapes once at the top. docs/MATH.md, “The fitting race”, “AdamW and the schedule” (Adam).
//!
//! Shapes: a batch of `B` scalars `x`; layer `l` maps `[B, in_l]` to `[B, out_l]` with
//! `W_l` `[out_l, in_l]` row-major and `b_l` `[out_l]`; widths are `[1, H1, (H2,) 1]`.

use crate::{
    activation::{
        activation_backward, activation_forward, polynorm_backward, polynorm_forward, top_k_rows, Activation, Gate,
    },
    Rng,
};

/// What the hidden layers apply after their linear map.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "snake_case"))]
pub enum Hidden {
    /// Elementwise.
    Each(Activation),
    /// PolyCom's PolyNorm over each example's hidden vector (row-wise), with fixed weights.
    PolyNorm([f32; 4]),
    /// A gated unit (SwiGLU, GeGLU): the layer projects to twice its width, `[a | b]` per
    /// example, and passes on `gate(a, b)`.
    Gated(Gate),
}

/// The network: weights and biases per layer.
#[derive(Clone, Debug, PartialEq)]
pub struct Mlp {
    pub widths: Vec<usize>,
    pub weights: Vec<Vec<f32>>,
    pub biases: Vec<Vec<f32>>,
    pub hidden: Hidden,
}

/// `∂L/∂W_l` and `∂L/∂b_l`, shaped as the parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Grads {
    pub weights: Vec<Vec<f32>>,
    pub biases: Vec<Vec<f32>>,
}

/// What a forward pass keeps for the backward pass and for the lab (the hidden activations).
#[derive(Clone, Debug, Default)]
pub struct Trace {
    /// Per layer, `[B, out_l]` before the activation.
    pub pre: Vec<Vec<f32>>,
    /// Per layer, `[B, out_l]` after it (the last layer's is the prediction).
    pub post: Vec<Vec<f32>>,
}

impl Mlp {
    /// A seeded network. Weights `N(0, 2/in)`; first-layer biases uniform in ±2, so that the
    /// units' kinks and bends are spread over the inputs the targets use; later biases 0.
    pub fn new(widths: &[usize], hidden: Hidden, rng: &mut Rng) -> Result<Mlp, String> {
        if widths.len() < 3 || widths[0] != 1 || widths[widths.len() - 1] != 1 || widths.contains(&0) {
            return Err(format!("widths {widths:?}: must be [1, hidden…, 1] with every width at least 1"));
        }
        let mut weights = Vec::new();
        let mut biases = Vec::new();
        let layers = widths.len() - 1;
        for (l, pair) in widths.windows(2).enumerate() {
            let inputs = pair[0];
            let outputs = pair[1] * if matches!(hidden, Hidden::Gated(_)) && l + 1 < layers { 2 } else { 1 };
            let mut w = vec![0.0f32; outputs * inputs];
            rng.fill_normal(&mut w, (2.0 / inputs as f32).sqrt());
            let b = if l == 0 { (0..outputs).map(|_| 4.0 * rng.uniform() - 2.0).collect() } else { vec![0.0; outputs] };
            weights.push(w);
            biases.push(b);
        }
        Ok(Mlp { widths: widths.to_vec(), weights, biases, hidden })
    }

    pub fn layers(&self) -> usize {
        self.widths.len() - 1
    }

    /// Values layer `l` computes per example before its activation: twice its width for a
    /// gated hidden layer.
    pub fn pre_width(&self, l: usize) -> usize {
        self.widths[l + 1] * if matches!(self.hidden, Hidden::Gated(_)) && l + 1 < self.layers() { 2 } else { 1 }
    }

    /// Number of weights and biases.
    pub fn parameters(&self) -> usize {
        self.weights.iter().chain(&self.biases).map(Vec::len).sum()
    }

    /// The forward pass over a batch; the prediction is `trace.post.last()`.
    pub fn forward(&self, x: &[f32]) -> Trace {
        self.forward_top_k(x, None)
    }

    /// The forward pass with every hidden layer's output sparsified to its `k` largest values
    /// per example (none when `top_k` is `None`): how much of the fit the largest units carry.
    pub fn forward_top_k(&self, x: &[f32], top_k: Option<usize>) -> Trace {
        let batch = x.len();
        let mut trace = Trace::default();
        let mut input = x.to_vec();
        for l in 0..self.layers() {
            let (inputs, outputs) = (self.widths[l], self.widths[l + 1]);
            let pre = linear_forward(&input, &self.weights[l], &self.biases[l], batch, inputs, self.pre_width(l));
            let post = if l + 1 == self.layers() {
                pre.clone()
            } else {
                let mut post = vec![0.0; batch * outputs];
                hidden_forward(self.hidden, &pre, outputs, &mut post);
                if let Some(k) = top_k {
                    top_k_rows(&mut post, outputs, k);
                }
                post
            };
            trace.pre.push(pre);
            input = post.clone();
            trace.post.push(post);
        }
        trace
    }

    /// Mean squared error of the prediction for `y`, and its gradients.
    pub fn loss_and_grads(&self, x: &[f32], y: &[f32]) -> (f32, Grads, Trace) {
        assert_eq!(x.len(), y.len(), "loss_and_grads: x and y differ in length");
        let batch = x.len();
        let trace = self.forward(x);
        let prediction = trace.post.last().expect("at least one layer");
        let mut loss = 0.0f64;
        // dL/dprediction = 2 (p − y) / B.
        let mut upstream: Vec<f32> = prediction
            .iter()
            .zip(y)
            .map(|(&p, &t)| {
                let e = p - t;
                loss += (e as f64) * (e as f64);
                2.0 * e / batch as f32
            })
            .collect();
        let mut grads = Grads {
            weights: self.weights.iter().map(|w| vec![0.0; w.len()]).collect(),
            biases: self.biases.iter().map(|b| vec![0.0; b.len()]).collect(),
        };
        for l in (0..self.layers()).rev() {
            let (inputs, outputs) = (self.widths[l], self.widths[l + 1]);
            let pre_width = self.pre_width(l);
            if l + 1 < self.layers() {
                // Back through the activation: upstream is ∂L/∂post, made ∂L/∂pre.
                let pre = &trace.pre[l];
                let mut dpre = vec![0.0; pre.len()];
                hidden_backward(self.hidden, pre, outputs, &upstream, &mut dpre);
                upstream = dpre;
            }
            let input: &[f32] = if l == 0 { x } else { &trace.post[l - 1] };
            upstream = linear_backward(
                input,
                &self.weights[l],
                &upstream,
                batch,
                inputs,
                pre_width,
                &mut grads.weights[l],
                &mut grads.biases[l],
            );
        }
        ((loss / batch as f64) as f32, grads, trace)
    }
}

/// The unit over `pre` (`width` values per row, `2·width` for a gated unit, `[a | b]`) into
/// `post` (`width` per row).
pub fn hidden_forward(hidden: Hidden, pre: &[f32], width: usize, post: &mut [f32]) {
    match hidden {
        Hidden::Each(act) => activation_forward(act, pre, post),
        Hidden::PolyNorm(a) => polynorm_forward(a, pre, width, post),
        Hidden::Gated(gate) => {
            for (p, y) in pre.chunks_exact(2 * width).zip(post.chunks_exact_mut(width)) {
                let (a, b) = p.split_at(width);
                for ((y, &a), &b) in y.iter_mut().zip(a).zip(b) {
                    *y = gate.value(a, b);
                }
            }
        }
    }
}

/// Back through [`hidden_forward`]: `dpre` (overwritten, shaped as `pre`) from `dpost`.
pub fn hidden_backward(hidden: Hidden, pre: &[f32], width: usize, dpost: &[f32], dpre: &mut [f32]) {
    match hidden {
        Hidden::Each(act) => activation_backward(act, pre, dpost, dpre),
        Hidden::PolyNorm(a) => {
            let mut da = [0.0; 4];
            polynorm_backward(a, pre, width, dpost, dpre, &mut da);
        }
        Hidden::Gated(gate) => {
            for ((p, d), g) in
                pre.chunks_exact(2 * width).zip(dpre.chunks_exact_mut(2 * width)).zip(dpost.chunks_exact(width))
            {
                let (a, b) = p.split_at(width);
                let (da, db) = d.split_at_mut(width);
                for j in 0..width {
                    let (ga, gb) = gate.gradients(a[j], b[j]);
                    da[j] = g[j] * ga;
                    db[j] = g[j] * gb;
                }
            }
        }
    }
}

/// `out[b][o] = Σ_i W[o][i]·x[b][i] + bias[o]`.
fn linear_forward(x: &[f32], w: &[f32], bias: &[f32], batch: usize, inputs: usize, outputs: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; batch * outputs];
    for (xb, ob) in x.chunks_exact(inputs).zip(out.chunks_exact_mut(outputs)).take(batch) {
        for (o, out) in ob.iter_mut().enumerate() {
            let row = &w[o * inputs..(o + 1) * inputs];
            *out = bias[o] + row.iter().zip(xb).map(|(a, b)| a * b).sum::<f32>();
        }
    }
    out
}

/// Accumulates `dW`, `db` and returns `∂L/∂x` (`[B, in]`) from `dout` (`[B, out]`).
#[allow(clippy::too_many_arguments)]
fn linear_backward(
    x: &[f32],
    w: &[f32],
    dout: &[f32],
    batch: usize,
    inputs: usize,
    outputs: usize,
    dw: &mut [f32],
    db: &mut [f32],
) -> Vec<f32> {
    let mut dx = vec![0.0f32; batch * inputs];
    for b in 0..batch {
        let (xb, gb) = (&x[b * inputs..(b + 1) * inputs], &dout[b * outputs..(b + 1) * outputs]);
        let dxb = &mut dx[b * inputs..(b + 1) * inputs];
        for (o, &g) in gb.iter().enumerate() {
            db[o] += g;
            let (row, drow) = (&w[o * inputs..(o + 1) * inputs], &mut dw[o * inputs..(o + 1) * inputs]);
            for i in 0..inputs {
                drow[i] += g * xb[i];
                dxb[i] += g * row[i];
            }
        }
    }
    dx
}

/// Adam (Kingma & Ba 2015) with bias correction; the state has the shapes of the parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Adam {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    step: u32,
    /// `β1^t` and `β2^t`, kept as running products (`powi`'s last bits may differ between
    /// platforms; a product does not).
    beta1_t: f32,
    beta2_t: f32,
    m: Grads,
    v: Grads,
}

impl Adam {
    pub fn new(mlp: &Mlp, lr: f32) -> Adam {
        let zeros = Grads {
            weights: mlp.weights.iter().map(|w| vec![0.0; w.len()]).collect(),
            biases: mlp.biases.iter().map(|b| vec![0.0; b.len()]).collect(),
        };
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            step: 0,
            beta1_t: 1.0,
            beta2_t: 1.0,
            m: zeros.clone(),
            v: zeros,
        }
    }

    pub fn steps(&self) -> u32 {
        self.step
    }

    /// One update of `mlp` from `grads`.
    pub fn update(&mut self, mlp: &mut Mlp, grads: &Grads) {
        self.step += 1;
        self.beta1_t *= self.beta1;
        self.beta2_t *= self.beta2;
        let (c1, c2) = (1.0 - self.beta1_t, 1.0 - self.beta2_t);
        let (b1, b2, lr, eps) = (self.beta1, self.beta2, self.lr, self.eps);
        let params = mlp.weights.iter_mut().chain(mlp.biases.iter_mut());
        let g = grads.weights.iter().chain(&grads.biases);
        let m = self.m.weights.iter_mut().chain(self.m.biases.iter_mut());
        let v = self.v.weights.iter_mut().chain(self.v.biases.iter_mut());
        for (((p, g), m), v) in params.zip(g).zip(m).zip(v) {
            for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                *m = b1 * *m + (1.0 - b1) * g;
                *v = b2 * *v + (1.0 - b2) * g * g;
                *p -= lr * (*m / c1) / ((*v / c2).sqrt() + eps);
            }
        }
    }
}

/// The 1-D functions the race fits, on x in [−3, 3].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "snake_case"))]
pub enum Target {
    Sine,
    Step,
    Abs,
    Sawtooth,
    Square,
    Bump,
    Chirp,
}

impl Target {
    pub const RANGE: (f32, f32) = (-3.0, 3.0);

    pub fn value(self, x: f32) -> f32 {
        match self {
            Target::Sine => (2.0 * x).sin(),
            Target::Step => {
                if x >= 0.0 {
                    1.0
                } else {
                    -1.0
                }
            }
            Target::Abs => x.abs() - 1.5,
            // Three teeth over the range, from −1 to 1.
            Target::Sawtooth => {
                let t = (x - Self::RANGE.0) / 2.0;
                2.0 * (t - t.floor()) - 1.0
            }
            Target::Square => x * x / 4.5 - 1.0,
            Target::Bump => 2.0 * (-4.0 * x * x).exp() - 1.0,
            // Frequency rising with x: sin(x² · 2).
            Target::Chirp => (2.0 * x * x).sin(),
        }
    }

    /// `n` evenly spaced points over the range and the target's values there.
    pub fn samples(self, n: usize) -> (Vec<f32>, Vec<f32>) {
        let (lo, hi) = Self::RANGE;
        let x: Vec<f32> = (0..n).map(|i| lo + (hi - lo) * i as f32 / (n.max(2) - 1) as f32).collect();
        let y = x.iter().map(|&x| self.value(x)).collect();
        (x, y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::Gate;

    fn loss_of(mlp: &Mlp, x: &[f32], y: &[f32]) -> f64 {
        let p = mlp.forward(x).post.last().unwrap().clone();
        p.iter().zip(y).map(|(&p, &t)| ((p - t) as f64).powi(2)).sum::<f64>() / x.len() as f64
    }

    #[test]
    fn gradients_match_finite_differences() {
        let (x, y) = Target::Sine.samples(9);
        for hidden in [
            Hidden::Each(Activation::Silu { beta: 1.0 }),
            Hidden::Each(Activation::Tanh),
            Hidden::PolyNorm([0.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0]),
            Hidden::Gated(Gate::SwiGlu { beta: 1.0 }),
            Hidden::Gated(Gate::GeGlu),
        ] {
            let mlp = Mlp::new(&[1, 5, 4, 1], hidden, &mut Rng::new(3)).unwrap();
            let (_, grads, _) = mlp.loss_and_grads(&x, &y);
            for l in 0..mlp.layers() {
                for i in 0..mlp.weights[l].len() {
                    // Central differences at h and h/2, combined (Richardson) to cancel the h² term.
                    let central = |h: f32| {
                        let (mut up, mut down) = (mlp.clone(), mlp.clone());
                        up.weights[l][i] += h;
                        down.weights[l][i] -= h;
                        let step = (up.weights[l][i] - down.weights[l][i]) as f64;
                        (loss_of(&up, &x, &y) - loss_of(&down, &x, &y)) / step
                    };
                    // Steps large enough that f32 rounding of the loss stays below the tolerance.
                    let fd = (4.0 * central(1e-2) - central(2e-2)) / 3.0;
                    let g = grads.weights[l][i] as f64;
                    assert!((g - fd).abs() <= 2e-3 * fd.abs().max(0.05), "{hidden:?} W{l}[{i}]: {g} vs {fd}");
                }
            }
        }
    }

    #[test]
    fn adam_fits_a_sine_and_runs_are_identical() {
        let (x, y) = Target::Sine.samples(64);
        let run = || {
            let mut mlp =
                Mlp::new(&[1, 32, 1], Hidden::Each(Activation::Silu { beta: 1.0 }), &mut Rng::new(7)).unwrap();
            let mut adam = Adam::new(&mlp, 0.01);
            let mut losses = Vec::new();
            for _ in 0..1500 {
                let (loss, grads, _) = mlp.loss_and_grads(&x, &y);
                adam.update(&mut mlp, &grads);
                losses.push(loss);
            }
            losses
        };
        let (a, b) = (run(), run());
        assert_eq!(a, b, "two runs of the same seed must be bit-identical");
        assert!(a[a.len() - 1] < 0.02 * a[0], "the loss fell from {} to {}", a[0], a[a.len() - 1]);
    }

    #[test]
    fn adam_takes_the_steps_of_its_definition() {
        // One parameter, gradients 0.5 then −0.25, computed by hand in f64 from Kingma & Ba.
        let mut mlp = Mlp::new(&[1, 1, 1], Hidden::Each(Activation::Relu), &mut Rng::new(1)).unwrap();
        let start = mlp.weights[0][0] as f64;
        let mut adam = Adam::new(&mlp, 0.1);
        let grads = |g: f32| Grads { weights: vec![vec![g], vec![0.0]], biases: vec![vec![0.0], vec![0.0]] };
        adam.update(&mut mlp, &grads(0.5));
        adam.update(&mut mlp, &grads(-0.25));
        let (b1, b2, lr, eps) = (0.9f64, 0.999f64, 0.1f64, 1e-8f64);
        let (mut m, mut v, mut p) = (0.0f64, 0.0f64, start);
        for (t, g) in [(1, 0.5f64), (2, -0.25)] {
            m = b1 * m + (1.0 - b1) * g;
            v = b2 * v + (1.0 - b2) * g * g;
            p -= lr * (m / (1.0 - b1.powi(t))) / ((v / (1.0 - b2.powi(t))).sqrt() + eps);
        }
        assert!((mlp.weights[0][0] as f64 - p).abs() < 1e-6, "{} vs {p}", mlp.weights[0][0]);
    }

    #[test]
    fn bad_widths_are_named() {
        let err = Mlp::new(&[2, 4, 1], Hidden::Each(Activation::Relu), &mut Rng::new(1)).unwrap_err();
        assert!(err.contains("widths [2, 4, 1]"), "{err}");
    }
}
