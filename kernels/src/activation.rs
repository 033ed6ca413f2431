//! Activation functions: value, derivative and parameter gradients, for the Activation lab and
//! the model's feed-forward layers. Math and defaults: `shared/reference/formulas.md` §2.
//!
//! Every formula is written in the form that stays accurate in f32 at large |x| (±100): the
//! logistic through `e^(−|x|)`, GELU's tails through `erfc`, `1 ± tanh` and `sech²` through
//! logistic forms, `e^x − 1` through `expm1`. Elementwise functions are one enum
//! ([`Activation`]); PolyNorm works on whole rows and the gated units on two inputs, so they
//! have functions of their own.

/// An elementwise activation with its parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "snake_case"))]
pub enum Activation {
    Relu,
    /// `x` for `x > 0`, else `α·x` (α default 0.01).
    LeakyRelu {
        alpha: f64,
    },
    /// `x` for `x > 0`, else `α(e^x − 1)` (α default 1).
    Elu {
        alpha: f64,
    },
    /// `x·Φ(x)`, the exact form with the error function.
    Gelu,
    /// `0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))`.
    GeluTanh,
    /// SiLU / Swish: `x·σ(βx)` (β default 1).
    Silu {
        beta: f64,
    },
    /// `(1/β) ln(1 + e^(βx))` (β default 1).
    Softplus {
        beta: f64,
    },
    /// `x·tanh(softplus(x))`.
    Mish,
    Sigmoid,
    Tanh,
    /// `ReLU(x)²`.
    SquaredRelu,
    /// PolyCom's PolyReLU (Zhuo et al. 2025): `Σ_{i=0..3} a_i ReLU(x)^i`.
    PolyRelu {
        a: [f64; 4],
    },
    /// CRReLU (EAFO, arXiv 2405.12954): `ReLU(x) + ε·x·e^(−x²/2)` (ε default 0.01).
    CrRelu {
        eps: f64,
    },
    /// A Padé unit: `P(x)/Q(x)`, `P` of degree 5 (`a_0..a_5`), `Q(x) = 1 + Σ_{k=1..4} |b_k|·|x|^k`
    /// (the "safe" denominator, never below 1).
    Rational {
        a: [f64; 6],
        b: [f64; 4],
    },
    /// A KAN edge (efficient-kan): `w_b·SiLU(x) + w_s·Σ_i c_i B_i(x)`, cubic B-splines on a uniform
    /// grid of 5 intervals over [−1, 1] (8 bases).
    Kan {
        w_b: f64,
        w_s: f64,
        c: [f64; KAN_BASES],
    },
}

/// Cubic B-spline bases of a KAN edge: grid intervals + order.
pub const KAN_BASES: usize = KAN_GRID + KAN_ORDER;
const KAN_GRID: usize = 5;
const KAN_ORDER: usize = 3;

/// `σ(x) = 1/(1 + e^−x)` without overflow.
#[inline]
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `ln(1 + e^x)` without overflow.
#[inline]
pub fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// `1 − tanh(s)²` for `s ≥ 0` (softplus values), without cancellation: `4e^(−2s)/(1 + e^(−2s))²`.
#[inline]
fn sech2_nonnegative(s: f64) -> f64 {
    let e = (-2.0 * s).exp();
    4.0 * e / ((1.0 + e) * (1.0 + e))
}

const INV_SQRT_2: f64 = std::f64::consts::FRAC_1_SQRT_2;
/// `1/√(2π)`.
const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
/// `√(2/π)`.
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;

/// `Φ(x)`, the standard normal CDF, accurate in both tails.
#[inline]
fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x * INV_SQRT_2)
}

/// The cubic B-spline bases of a KAN edge at `x` (and their derivatives), by Cox–de Boor on
/// the knots `t_j = −1 + (j − 3)·h`, `h = 2/5`, `j = 0..=11`.
pub fn kan_bases(x: f64) -> ([f64; KAN_BASES], [f64; KAN_BASES]) {
    let h = 2.0 / KAN_GRID as f64;
    let knots: [f64; KAN_BASES + KAN_ORDER + 1] = std::array::from_fn(|j| -1.0 + (j as f64 - KAN_ORDER as f64) * h);
    // Order 0: indicators of [t_j, t_{j+1}); each order has one basis fewer (fixed arrays, no
    // allocation: this runs per value in the race's network).
    const SLOTS: usize = KAN_BASES + KAN_ORDER;
    let mut b = [0.0f64; SLOTS];
    for (j, bj) in b.iter_mut().enumerate() {
        *bj = f64::from(knots[j] <= x && x < knots[j + 1]);
    }
    let mut lower = b;
    for k in 1..=KAN_ORDER {
        lower = b;
        for j in 0..SLOTS - k {
            let left = (x - knots[j]) / (knots[j + k] - knots[j]) * lower[j];
            let right = (knots[j + k + 1] - x) / (knots[j + k + 1] - knots[j + 1]) * lower[j + 1];
            b[j] = left + right;
        }
    }
    // B'_{j,k} = k/(t_{j+k} − t_j)·B_{j,k−1} − k/(t_{j+k+1} − t_{j+1})·B_{j+1,k−1}.
    let k = KAN_ORDER as f64;
    let values = std::array::from_fn(|j| b[j]);
    let slopes = std::array::from_fn(|j| {
        k / (knots[j + KAN_ORDER] - knots[j]) * lower[j] - k / (knots[j + KAN_ORDER + 1] - knots[j + 1]) * lower[j + 1]
    });
    (values, slopes)
}

impl Activation {
    /// The parameters' values, in the order of [`Activation::param_names`].
    pub fn params(self) -> Vec<f64> {
        match self {
            Activation::LeakyRelu { alpha } | Activation::Elu { alpha } => vec![alpha],
            Activation::Silu { beta } | Activation::Softplus { beta } => vec![beta],
            Activation::CrRelu { eps } => vec![eps],
            Activation::PolyRelu { a } => a.to_vec(),
            Activation::Rational { a, b } => [a.as_slice(), b.as_slice()].concat(),
            Activation::Kan { w_b, w_s, c } => [[w_b, w_s].as_slice(), c.as_slice()].concat(),
            _ => Vec::new(),
        }
    }

    /// The parameters' names, in the order of [`Activation::param_grads`].
    pub fn param_names(self) -> Vec<String> {
        let indexed = |p: &str, n: usize| (0..n).map(|i| format!("{p}{i}")).collect::<Vec<_>>();
        match self {
            Activation::LeakyRelu { .. } | Activation::Elu { .. } => vec!["alpha".into()],
            Activation::Silu { .. } | Activation::Softplus { .. } => vec!["beta".into()],
            Activation::CrRelu { .. } => vec!["eps".into()],
            Activation::PolyRelu { .. } => indexed("a", 4),
            Activation::Rational { .. } => [indexed("a", 6), (1..=4).map(|k| format!("b{k}")).collect()].concat(),
            Activation::Kan { .. } => [vec!["w_b".into(), "w_s".into()], indexed("c", KAN_BASES)].concat(),
            _ => Vec::new(),
        }
    }

    /// `f(x)`, computed in f64 and rounded once: within half an f32 step of the exact value,
    /// also where terms cancel (near a root of a rational or a spline).
    pub fn value(self, x: f32) -> f32 {
        self.value_f64(x as f64) as f32
    }

    /// `f'(x)`, computed in f64 and rounded once. At a kink the ReLU family takes the
    /// left-hand slope; the Padé unit with `b_1 ≠ 0` takes the sign of 0 as 0 there (the mean of
    /// its two one-sided slopes), as JAX and PyTorch do for `|x|`.
    pub fn derivative(self, x: f32) -> f32 {
        self.derivative_f64(x as f64) as f32
    }

    /// `∂f/∂θ` at `x` for each parameter θ, in the order of [`Activation::param_names`].
    pub fn param_grads(self, x: f32) -> Vec<f32> {
        self.param_grads_f64(x as f64).into_iter().map(|g| g as f32).collect()
    }

    pub fn value_f64(self, x: f64) -> f64 {
        match self {
            Activation::Relu => relu(x),
            Activation::LeakyRelu { alpha } => {
                if x > 0.0 {
                    x
                } else {
                    alpha * x
                }
            }
            Activation::Elu { alpha } => {
                if x > 0.0 {
                    x
                } else {
                    alpha * x.exp_m1()
                }
            }
            Activation::Gelu => x * normal_cdf(x),
            // 0.5(1 + tanh(u)) = σ(2u): no cancellation in the negative tail.
            Activation::GeluTanh => x * sigmoid(2.0 * SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)),
            Activation::Silu { beta } => x * sigmoid(beta * x),
            Activation::Softplus { beta } => softplus(beta * x) / beta,
            Activation::Mish => x * softplus(x).tanh(),
            Activation::Sigmoid => sigmoid(x),
            Activation::Tanh => x.tanh(),
            Activation::SquaredRelu => relu(x) * relu(x),
            Activation::PolyRelu { a } => {
                let r = relu(x);
                a[0] + r * (a[1] + r * (a[2] + r * a[3]))
            }
            Activation::CrRelu { eps } => relu(x) + eps * x * (-0.5 * x * x).exp(),
            Activation::Rational { a, b } => {
                let (p, q) = rational_pq(a, b, x);
                p / q
            }
            Activation::Kan { w_b, w_s, c } => {
                let (bases, _) = kan_bases(x);
                w_b * x * sigmoid(x) + w_s * bases.iter().zip(&c).map(|(b, c)| b * c).sum::<f64>()
            }
        }
    }

    pub fn derivative_f64(self, x: f64) -> f64 {
        // A NaN input gives a NaN slope (not the 0 or α of a comparison), so that a broken
        // value stays visible through the backward pass.
        if x.is_nan() {
            return f64::NAN;
        }
        match self {
            Activation::Relu => f64::from(x > 0.0),
            Activation::LeakyRelu { alpha } => {
                if x > 0.0 {
                    1.0
                } else {
                    alpha
                }
            }
            Activation::Elu { alpha } => {
                if x > 0.0 {
                    1.0
                } else {
                    alpha * x.exp()
                }
            }
            // Φ(x) + xφ(x).
            Activation::Gelu => normal_cdf(x) + x * INV_SQRT_2PI * (-0.5 * x * x).exp(),
            Activation::GeluTanh => {
                // f = x·σ(2u), u = c(x + 0.044715x³): f' = σ(2u) + x·σ(2u)σ(−2u)·2c(1 + 3·0.044715x²).
                let u2 = 2.0 * SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
                let (s, t) = (sigmoid(u2), sigmoid(-u2));
                s + x * s * t * 2.0 * SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044715 * x * x)
            }
            Activation::Silu { beta } => {
                let z = beta * x;
                let (s, t) = (sigmoid(z), sigmoid(-z));
                s * (1.0 + z * t)
            }
            Activation::Softplus { beta } => sigmoid(beta * x),
            Activation::Mish => {
                let sp = softplus(x);
                sp.tanh() + x * sech2_nonnegative(sp) * sigmoid(x)
            }
            Activation::Sigmoid => sigmoid(x) * sigmoid(-x),
            Activation::Tanh => {
                // 1 − tanh² = sech²(|x|).
                sech2_nonnegative(x.abs())
            }
            Activation::SquaredRelu => 2.0 * relu(x),
            Activation::PolyRelu { a } => {
                if x > 0.0 {
                    a[1] + x * (2.0 * a[2] + 3.0 * a[3] * x)
                } else {
                    0.0
                }
            }
            Activation::CrRelu { eps } => f64::from(x > 0.0) + eps * (1.0 - x * x) * (-0.5 * x * x).exp(),
            Activation::Rational { a, b } => {
                let (p, q) = rational_pq(a, b, x);
                let dp = a[1] + x * (2.0 * a[2] + x * (3.0 * a[3] + x * (4.0 * a[4] + x * 5.0 * a[5])));
                let ax = x.abs();
                let dq =
                    sign0(x) * (b[0].abs() + ax * (2.0 * b[1].abs() + ax * (3.0 * b[2].abs() + ax * 4.0 * b[3].abs())));
                (dp * q - p * dq) / (q * q)
            }
            Activation::Kan { w_b, w_s, c } => {
                let (_, slopes) = kan_bases(x);
                w_b * Activation::Silu { beta: 1.0 }.derivative_f64(x)
                    + w_s * slopes.iter().zip(&c).map(|(b, c)| b * c).sum::<f64>()
            }
        }
    }

    pub fn param_grads_f64(self, x: f64) -> Vec<f64> {
        match self {
            Activation::LeakyRelu { .. } => vec![if x > 0.0 { 0.0 } else { x }],
            Activation::Elu { .. } => vec![if x > 0.0 { 0.0 } else { x.exp_m1() }],
            Activation::Silu { beta } => {
                let z = beta * x;
                vec![x * x * sigmoid(z) * sigmoid(-z)]
            }
            // d/dβ [sp(βx)/β] = x·σ(βx)/β − sp(βx)/β².
            Activation::Softplus { beta } => {
                let z = beta * x;
                // x·σ(z)/β − sp(z)/β²; for z > 0, sp(z) = z + ln(1 + e^−z) and σ(z) = 1 − σ(−z)
                // turn it into −(z·σ(−z) + ln(1 + e^−z))/β², two terms of one sign.
                if z > 0.0 {
                    vec![-(z * sigmoid(-z) + (-z).exp().ln_1p()) / (beta * beta)]
                } else {
                    vec![(x * sigmoid(z) - softplus(z) / beta) / beta]
                }
            }
            Activation::CrRelu { .. } => vec![x * (-0.5 * x * x).exp()],
            Activation::PolyRelu { .. } => {
                let r = relu(x);
                vec![1.0, r, r * r, r * r * r]
            }
            Activation::Rational { a, b } => {
                let (p, q) = rational_pq(a, b, x);
                let ax = x.abs();
                let mut g: Vec<f64> = (0..6).map(|j| x.powi(j) / q).collect();
                g.extend((0..4).map(|k| -p / (q * q) * sign0(b[k]) * ax.powi(k as i32 + 1)));
                g
            }
            Activation::Kan { w_s, c, .. } => {
                let (bases, _) = kan_bases(x);
                let spline: f64 = bases.iter().zip(&c).map(|(b, c)| b * c).sum();
                [vec![x * sigmoid(x), spline], bases.iter().map(|b| w_s * b).collect()].concat()
            }
            _ => Vec::new(),
        }
    }
}

/// Properties of an activation, computed from its values and derivatives (never typed in).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Properties {
    /// `f' ≥ 0` on [−50, 50] (every 10⁻³) and at ±10³, ±10⁴, ±10⁶.
    pub monotone: bool,
    /// Neither tail keeps falling: `f` at ±10³, ±10⁴, ±10⁶ is not decreasing outwards (and the
    /// values on [−50, 50] are finite).
    pub bounded_below: bool,
    /// `f'` is continuous: no jump between the one-sided slopes at the places where these
    /// functions can have a kink (0, and a KAN edge's knots).
    pub smooth: bool,
    /// `|E f(z)| < 0.1 · sd f(z)` for `z ~ N(0, 1)`.
    pub zero_centred: bool,
    /// `f'` vanishes far out (`|f'| < 10⁻⁶` at x = ∓10⁴).
    pub saturates_left: bool,
    pub saturates_right: bool,
    pub value_at_0: f64,
    /// At a kink, the slope [`Activation::derivative`] takes there.
    pub slope_at_0: f64,
    /// `E f(z)` and `sd f(z)` for `z ~ N(0, 1)`.
    pub mean: f64,
    pub sd: f64,
    /// `P(f(z) = 0)` exactly, in f32 as a network computes it, for `z ~ N(0, 1)`.
    pub zero_fraction: f64,
}

impl Activation {
    /// `f''(x)`, by a central difference of the exact `f'` (for plots; 0 across a kink's
    /// neighbourhood is not claimed, the jump shows as a spike).
    pub fn second_derivative_f64(self, x: f64) -> f64 {
        let h = 1e-5 * x.abs().max(1.0);
        (self.derivative_f64(x + h) - self.derivative_f64(x - h)) / (2.0 * h)
    }

    /// The function's [`Properties`], from values on grids and a Gaussian quadrature by the
    /// midpoint rule on [−8, 8] (the mass outside is below 10⁻¹⁴).
    pub fn properties(self) -> Properties {
        let grid = |lo: f64, hi: f64, step: f64| {
            let n = ((hi - lo) / step).round() as usize;
            (0..=n).map(move |i| lo + i as f64 * step)
        };
        const FAR: [f64; 3] = [1e3, 1e4, 1e6];
        let monotone =
            grid(-50.0, 50.0, 1e-3).chain(FAR.iter().flat_map(|&x| [x, -x])).all(|x| self.derivative_f64(x) >= -1e-12);
        // A tail that keeps falling outwards is unbounded below.
        let falls = |side: f64| {
            let f = FAR.map(|x| self.value_f64(side * x));
            f[1] < f[0] - 1e-9 * f[0].abs().max(1.0) && f[2] < f[1] - 1e-9 * f[1].abs().max(1.0)
        };
        let bounded_below =
            !falls(-1.0) && !falls(1.0) && grid(-50.0, 50.0, 1e-2).all(|x| self.value_f64(x).is_finite());
        // One-sided slopes a hair either side of each possible kink.
        let h = 2.0 / KAN_GRID as f64;
        let kinks = std::iter::once(0.0)
            .chain((0..KAN_BASES + KAN_ORDER + 1).map(|j| -1.0 + (j as f64 - KAN_ORDER as f64) * h));
        let smooth = kinks.into_iter().all(|k: f64| {
            let eps = 1e-9 * k.abs().max(1.0);
            (self.derivative_f64(k + eps) - self.derivative_f64(k - eps)).abs() <= 1e-6
        });
        let (mut m0, mut m1, mut m2, mut zero) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        // The midpoint rule: no sample at exactly 0, where a point of zero measure would count.
        let step = 1e-3;
        for z in grid(-8.0 + step / 2.0, 8.0 - step / 2.0, step) {
            let w = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt() * step;
            let f = self.value_f64(z);
            m0 += w;
            m1 += w * f;
            m2 += w * f * f;
            zero += w * f64::from(self.value(z as f32) == 0.0);
        }
        let mean = m1 / m0;
        let sd = (m2 / m0 - mean * mean).max(0.0).sqrt();
        Properties {
            monotone,
            bounded_below,
            smooth,
            zero_centred: mean.abs() < 0.1 * sd,
            saturates_left: self.derivative_f64(-1e4).abs() < 1e-6,
            saturates_right: self.derivative_f64(1e4).abs() < 1e-6,
            value_at_0: self.value_f64(0.0),
            slope_at_0: self.derivative_f64(0.0),
            mean,
            sd,
            zero_fraction: zero / m0,
        }
    }
}

/// `max(x, 0)`, with a NaN staying NaN (so that a broken input shows downstream).
#[inline]
fn relu(x: f64) -> f64 {
    if x <= 0.0 {
        0.0
    } else {
        x
    }
}

/// The sign, 0 at 0 (the derivative of |x| taken as 0 there, as JAX does).
#[inline]
fn sign0(x: f64) -> f64 {
    if x == 0.0 {
        0.0
    } else {
        x.signum()
    }
}

/// `P(x)` and `Q(x)` of the Padé unit.
#[inline]
fn rational_pq(a: [f64; 6], b: [f64; 4], x: f64) -> (f64, f64) {
    let p = a[0] + x * (a[1] + x * (a[2] + x * (a[3] + x * (a[4] + x * a[5]))));
    let ax = x.abs();
    let q = 1.0 + ax * (b[0].abs() + ax * (b[1].abs() + ax * (b[2].abs() + ax * b[3].abs())));
    (p, q)
}

/// `(p, e)` with `p = a·b` rounded and `p + e = a·b` exactly (Dekker's product with
/// Veltkamp's split: no fused multiply-add needed).
#[inline(always)]
fn two_product(a: f32, b: f32) -> (f32, f32) {
    #[inline(always)]
    fn split(a: f32) -> (f32, f32) {
        let c = 4097.0 * a; // 2^12 + 1
        let hi = c - (c - a);
        (hi, a - hi)
    }
    let p = a * b;
    let ((ah, al), (bh, bl)) = (split(a), split(b));
    (p, ((ah * bh - p) + ah * bl + al * bh) + al * bl)
}

/// `σ(z)` for `z = hi + lo` (`lo` the rounding error of `hi`), in f32 without branches, so
/// that loops over it vectorise. `e^(−|z|) = e^(−|hi|)·(1 ∓ lo)`: the correction keeps the
/// result within a few ulp even where `e^z` is tiny and the product `βx` was rounded (for
/// `z = −50` a rounded argument alone would cost 50 × 6e-8 = 3e-6).
#[inline(always)]
fn sigmoid_f32(hi: f32, lo: f32) -> f32 {
    sigmoid_pair(hi, lo).0
}

#[inline(always)]
fn map(x: &[f32], y: &mut [f32], f: impl Fn(f32) -> f32) {
    y.iter_mut().zip(x).for_each(|(y, &x)| *y = f(x));
}

#[inline(always)]
fn map_grad(x: &[f32], dy: &[f32], dx: &mut [f32], f: impl Fn(f32) -> f32) {
    dx.iter_mut().zip(x).zip(dy).for_each(|((g, &x), &dy)| *g = f(x) * dy);
}

/// β of SiLU or softplus as two f32 that sum to it (its rounding alone would move `e^(βx)` by
/// `|βx|·3e-8`); `None` outside the range the split keeps exact.
fn beta_pair(beta: f64) -> Option<(f32, f32)> {
    (beta.abs() <= 1e3).then(|| {
        let hi = beta as f32;
        (hi, (beta - hi as f64) as f32)
    })
}

/// `y = f(x)` elementwise, by plain loops the compiler vectorises (f32x4 on wasm32 with
/// simd128; f64x2 lanes where a polynomial in `x` needs the range), within 1e-6 of the exact
/// values (see [`fast`]). β outside ±1000 (and softplus with β ≤ 0) takes
/// [`Activation::value`] (f64, rounded once). Every variant is matched: a new activation must
/// choose its loop here.
pub fn activation_forward(act: Activation, x: &[f32], y: &mut [f32]) {
    assert_eq!(x.len(), y.len(), "activation_forward: x and y differ in length");
    match act {
        // `if x <= 0 {0} else {x}` rather than `max`: a select vectorises where `max`'s NaN
        // rule does not, and a NaN input stays NaN (the model's NaN check must see it).
        Activation::Relu => map(x, y, |x| if x <= 0.0 { 0.0 } else { x }),
        Activation::LeakyRelu { alpha } => {
            let alpha = alpha as f32;
            map(x, y, |x| if x > 0.0 { x } else { alpha * x })
        }
        Activation::SquaredRelu => map(x, y, |x| if x <= 0.0 { 0.0 } else { x * x }),
        Activation::Sigmoid => map(x, y, |x| sigmoid_f32(x, 0.0)),
        Activation::Silu { beta } => match beta_pair(beta) {
            Some((hi, lo)) => map(x, y, |x| {
                let (zh, zl) = scaled(hi, lo, x);
                x * sigmoid_f32(zh, zl)
            }),
            None => map(x, y, |x| act.value(x)),
        },
        Activation::Softplus { beta } => match beta_pair(beta).filter(|_| beta > 0.0) {
            Some((hi, lo)) => {
                let inv = (1.0 / beta) as f32;
                map(x, y, |x| fast::softplus(x, hi, lo, inv))
            }
            None => map(x, y, |x| act.value(x)),
        },
        Activation::Elu { alpha } => {
            let alpha = alpha as f32;
            map(x, y, |x| fast::elu(x, alpha))
        }
        Activation::Gelu => map(x, y, fast::gelu),
        Activation::GeluTanh => map(x, y, fast::gelu_tanh),
        Activation::Mish => map(x, y, fast::mish),
        Activation::Tanh => map(x, y, fast::tanh),
        Activation::CrRelu { eps } => {
            let eps = eps as f32;
            map(x, y, |x| fast::crrelu(x, eps))
        }
        Activation::PolyRelu { a } => map(x, y, |x| fast::poly_relu(x, a)),
        Activation::Rational { a, b } => {
            let b = b.map(f64::abs);
            map(x, y, |x| fast::rational(x, a, b))
        }
        Activation::Kan { w_b, w_s, c } => {
            let (w_b, w_s, c) = (w_b as f32, w_s as f32, c.map(|v| v as f32));
            map(x, y, |x| fast::kan(x, w_b, w_s, &c))
        }
    }
}

/// `dx = f'(x) ⊙ dy`, by the same kind of loops as [`activation_forward`].
pub fn activation_backward(act: Activation, x: &[f32], dy: &[f32], dx: &mut [f32]) {
    assert!(x.len() == dy.len() && x.len() == dx.len(), "activation_backward: lengths differ");
    match act {
        Activation::Relu => map_grad(x, dy, dx, fast::relu_d),
        Activation::LeakyRelu { alpha } => {
            let alpha = alpha as f32;
            map_grad(x, dy, dx, |x| {
                if x > 0.0 {
                    1.0
                } else if x <= 0.0 {
                    alpha
                } else {
                    x
                }
            })
        }
        Activation::SquaredRelu => map_grad(x, dy, dx, |x| if x <= 0.0 { 0.0 } else { 2.0 * x }),
        Activation::Sigmoid => map_grad(x, dy, dx, fast::sigmoid_d),
        Activation::Silu { beta } => match beta_pair(beta) {
            Some((hi, lo)) => map_grad(x, dy, dx, |x| fast::silu_d(x, hi, lo)),
            None => map_grad(x, dy, dx, |x| act.derivative(x)),
        },
        Activation::Softplus { beta } => match beta_pair(beta).filter(|_| beta > 0.0) {
            Some((hi, lo)) => map_grad(x, dy, dx, |x| fast::softplus_d(x, hi, lo)),
            None => map_grad(x, dy, dx, |x| act.derivative(x)),
        },
        Activation::Elu { alpha } => {
            let alpha = alpha as f32;
            map_grad(x, dy, dx, |x| fast::elu_d(x, alpha))
        }
        Activation::Gelu => map_grad(x, dy, dx, fast::gelu_d),
        Activation::GeluTanh => map_grad(x, dy, dx, fast::gelu_tanh_d),
        Activation::Mish => map_grad(x, dy, dx, fast::mish_d),
        Activation::Tanh => map_grad(x, dy, dx, fast::tanh_d),
        Activation::CrRelu { eps } => {
            let eps = eps as f32;
            map_grad(x, dy, dx, |x| fast::crrelu_d(x, eps))
        }
        Activation::PolyRelu { a } => map_grad(x, dy, dx, |x| fast::poly_relu_d(x, a)),
        Activation::Rational { a, b } => {
            let b = b.map(f64::abs);
            map_grad(x, dy, dx, |x| fast::rational_d(x, a, b))
        }
        Activation::Kan { w_b, w_s, c } => {
            let (w_b, w_s, c) = (w_b as f32, w_s as f32, c.map(|v| v as f32));
            map_grad(x, dy, dx, |x| fast::kan_d(x, w_b, w_s, &c))
        }
    }
}

/// `(s, e)` with `s = a + b` rounded and `s + e = a + b` exactly (Knuth's two-sum).
#[inline(always)]
fn two_sum(a: f32, b: f32) -> (f32, f32) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// `e^(hi + lo)` for `hi <= 0` (`lo` a small correction): `e^hi·(1 + lo)`.
#[inline(always)]
fn exp_corrected(hi: f32, lo: f32) -> f32 {
    crate::vector::exp_nonpositive(hi) * (1.0 + lo)
}

/// `(σ(z), 1 − σ(z))` for `z = hi + lo`, each without cancellation: with `e = e^(−|z|)` and
/// `r = 1/(1 + e)`, one is `e·r` and the other `r`.
#[inline(always)]
fn sigmoid_pair(hi: f32, lo: f32) -> (f32, f32) {
    let negative = hi < 0.0;
    let (a, correction) = if negative { (hi, lo) } else { (-hi, -lo) };
    let e = exp_corrected(a, correction);
    let r = 1.0 / (1.0 + e);
    let er = e * r;
    if negative {
        (er, r)
    } else {
        (r, er)
    }
}

/// `βx` as `hi + lo` (β given as two f32 that sum to it): exact up to |x| < 1e30.
#[inline(always)]
fn scaled(beta_hi: f32, beta_lo: f32, x: f32) -> (f32, f32) {
    let small = x.abs() < 1e30;
    let (hi, lo) = two_product(beta_hi, if small { x } else { 0.0 });
    if small {
        (hi, lo + beta_lo * x)
    } else {
        (beta_hi * x, 0.0)
    }
}

/// The forms of the activations that vectorise: f32 (f64 lanes where a polynomial in `x` needs
/// the range), no calls, selects instead of branches. Each is within 1e-6 of the f64 form
/// (relative; absolutely below 1e-28, where `e^x` leaves f32's normal range); slopes within
/// 1e-5, or 1e-7·(1 + |x|) absolutely where the slope crosses zero (near its root a relative
/// bound means nothing). `kernels/src/activation.rs` tests every one of them on 200,000 points.
mod fast {
    use super::{exp_corrected, scaled, sigmoid_pair, two_product, two_sum};
    use crate::vector::exp_nonpositive;

    #[inline(always)]
    pub fn relu_d(x: f32) -> f32 {
        if x > 0.0 {
            1.0
        } else if x <= 0.0 {
            0.0
        } else {
            x
        }
    }

    /// `tanh` by its odd Taylor series below 0.4 (the next term is under 1e-8 there), else
    /// `±(1 − e)/(1 + e)` with `e = e^(−2|x|)`.
    #[inline(always)]
    pub fn tanh(x: f32) -> f32 {
        let x2 = x * x;
        let series = x
            * (1.0
                + x2 * (-1.0 / 3.0
                    + x2 * (2.0 / 15.0
                        + x2 * (-17.0 / 315.0
                            + x2 * (62.0 / 2835.0 + x2 * (-1382.0 / 155_925.0 + x2 * (21_844.0 / 6_081_075.0)))))));
        let e = exp_nonpositive(-2.0 * x.abs());
        let t = (1.0 - e) / (1.0 + e);
        let far = if x < 0.0 { -t } else { t };
        if x.abs() < 0.4 {
            series
        } else {
            far
        }
    }

    /// `sech² x = 4e/(1 + e)²`, `e = e^(−2|x|)`: no `1 − tanh²` cancellation.
    #[inline(always)]
    pub fn tanh_d(x: f32) -> f32 {
        let e = exp_nonpositive(-2.0 * x.abs());
        let r = 1.0 / (1.0 + e);
        4.0 * e * r * r
    }

    /// `e^x − 1` for `x <= 0`: a Taylor series above −0.4, else `e^x − 1` (at least 0.33 away
    /// from cancelling).
    #[inline(always)]
    fn expm1_nonpositive(x: f32) -> f32 {
        let series = x
            * (1.0
                + x / 2.0
                    * (1.0
                        + x / 3.0
                            * (1.0 + x / 4.0 * (1.0 + x / 5.0 * (1.0 + x / 6.0 * (1.0 + x / 7.0 * (1.0 + x / 8.0)))))));
        if x > -0.4 {
            series
        } else {
            exp_nonpositive(x) - 1.0
        }
    }

    #[inline(always)]
    pub fn elu(x: f32, alpha: f32) -> f32 {
        let negative = alpha * expm1_nonpositive(if x > 0.0 { 0.0 } else { x });
        if x > 0.0 {
            x
        } else if x <= 0.0 {
            negative
        } else {
            x
        }
    }

    #[inline(always)]
    pub fn elu_d(x: f32, alpha: f32) -> f32 {
        let negative = alpha * exp_nonpositive(if x > 0.0 { 0.0 } else { x });
        if x > 0.0 {
            1.0
        } else if x <= 0.0 {
            negative
        } else {
            x
        }
    }

    /// `tanh(softplus(x))` and `1 − tanh(softplus(x))`, and `σ(x)`, from `e = e^(−|x|)`:
    /// for `x ≥ 0`, `w = (1 + 2e)/(1 + 2e + 2e²)`; below, `n = e(e + 2)`, `w = n/(n + 2)`.
    #[inline(always)]
    fn mish_parts(x: f32) -> (f32, f32, f32) {
        let e = exp_nonpositive(-x.abs());
        let (w_pos, one_minus_pos) = {
            let d = 1.0 + 2.0 * e + 2.0 * e * e;
            ((1.0 + 2.0 * e) / d, 2.0 * e * e / d)
        };
        let (w_neg, one_minus_neg) = {
            let n = e * (e + 2.0);
            (n / (n + 2.0), 2.0 / (n + 2.0))
        };
        let r = 1.0 / (1.0 + e);
        if x >= 0.0 {
            (w_pos, one_minus_pos, r)
        } else {
            (w_neg, one_minus_neg, e * r)
        }
    }

    #[inline(always)]
    pub fn mish(x: f32) -> f32 {
        x * mish_parts(x).0
    }

    /// `w + x·(1 − w²)·σ(x)`.
    #[inline(always)]
    pub fn mish_d(x: f32) -> f32 {
        let (w, one_minus, s) = mish_parts(x);
        w + x * (one_minus * (1.0 + w)) * s
    }

    /// `ln(1 + e)` for `0 ≤ e ≤ 1`: `2·atanh(s)`, `s = e/(2 + e) ≤ 1/3`, by its series.
    #[inline(always)]
    fn log1p_unit(e: f32) -> f32 {
        let s = e / (2.0 + e);
        let s2 = s * s;
        2.0 * s
            * (1.0
                + s2 * (1.0 / 3.0
                    + s2 * (1.0 / 5.0
                        + s2 * (1.0 / 7.0
                            + s2 * (1.0 / 9.0 + s2 * (1.0 / 11.0 + s2 * (1.0 / 13.0 + s2 * (1.0 / 15.0))))))))
    }

    /// `(1/β)(max(βx, 0) + ln(1 + e^(−|βx|)))` with `βx` exact.
    #[inline(always)]
    pub fn softplus(x: f32, beta_hi: f32, beta_lo: f32, inv_beta: f32) -> f32 {
        let (hi, lo) = scaled(beta_hi, beta_lo, x);
        let e = if hi < 0.0 { exp_corrected(hi, lo) } else { exp_corrected(-hi, -lo) };
        // max(βx, 0)/β is max(x, 0): no rounding, and no overflow for huge x.
        let positive = if x > 0.0 { x } else { 0.0 };
        positive + log1p_unit(e) * inv_beta
    }

    #[inline(always)]
    pub fn softplus_d(x: f32, beta_hi: f32, beta_lo: f32) -> f32 {
        let (hi, lo) = scaled(beta_hi, beta_lo, x);
        sigmoid_pair(hi, lo).0
    }

    #[inline(always)]
    pub fn sigmoid_d(x: f32) -> f32 {
        let (s, one_minus) = sigmoid_pair(x, 0.0);
        s * one_minus
    }

    /// `σ(βx)(1 + βx(1 − σ(βx)))`.
    #[inline(always)]
    pub fn silu_d(x: f32, beta_hi: f32, beta_lo: f32) -> f32 {
        let (hi, lo) = scaled(beta_hi, beta_lo, x);
        let (s, one_minus) = sigmoid_pair(hi, lo);
        // Far right 1 − σ is 0 and βx may be infinite: the product is 0.
        let z_one_minus = if one_minus == 0.0 { 0.0 } else { hi * one_minus };
        s * (1.0 + z_one_minus)
    }

    const FRAC_1_SQRT_2: f32 = std::f32::consts::FRAC_1_SQRT_2;
    const INV_SQRT_2PI: f32 = 0.398_942_3;

    /// `x²/2` exactly, as `hi + lo`, for |x| up to 16; beyond, as for ±16 (`e^(−x²/2)` is
    /// below f32's range there, and the split would overflow). NaN stays NaN.
    #[inline(always)]
    fn half_square(x: f32) -> (f32, f32) {
        let x = x.clamp(-16.0, 16.0);
        let (hi, lo) = two_product(x, x);
        (0.5 * hi, 0.5 * lo)
    }

    /// `erfc(|x|/√2)`: `t·e^(−x²/2 + P(t))`, `t = 1/(1 + |x|/(2√2))` (Numerical Recipes'
    /// `erfcc`, relative error below 1.2e-7 for all x), with `x²/2` exact and the exponent's
    /// sum compensated.
    #[inline(always)]
    fn erfc_scaled(x: f32) -> f32 {
        let z = (if x.abs() > 16.0 { 16.0 } else { x.abs() }) * FRAC_1_SQRT_2;
        let t = 1.0 / (1.0 + 0.5 * z);
        let p = -1.265_512_2
            + t * (1.000_023_7
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_204 + t * (1.488_515_9 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
        let (sq_hi, sq_lo) = half_square(x);
        let (s, err) = two_sum(-sq_hi, p);
        let s = if s > 0.0 { 0.0 } else { s };
        t * exp_corrected(s, err - sq_lo)
    }

    /// `x·Φ(x)`: `Φ = erfc/2` below 0, `1 − erfc/2` above (erfc ≤ 1 there: no cancellation).
    #[inline(always)]
    pub fn gelu(x: f32) -> f32 {
        let half = 0.5 * erfc_scaled(x);
        x * if x < 0.0 { half } else { 1.0 - half }
    }

    /// `Φ(x) + x·φ(x)`.
    #[inline(always)]
    pub fn gelu_d(x: f32) -> f32 {
        let half = 0.5 * erfc_scaled(x);
        let cdf = if x < 0.0 { half } else { 1.0 - half };
        let (sq_hi, sq_lo) = half_square(x);
        let pdf = INV_SQRT_2PI * exp_corrected(-sq_hi, -sq_lo);
        cdf + x * pdf
    }

    /// `x` within ±10⁴ (σ of GELU-tanh's argument is 0 or 1 long before); NaN stays NaN.
    #[inline(always)]
    fn clamp_1e4(x: f32) -> f32 {
        x.clamp(-1e4, 1e4)
    }

    const GELU_TANH_C1: f64 = 1.595_769_121_605_730_7; // 2·√(2/π)
    const GELU_TANH_C3: f64 = GELU_TANH_C1 * 0.044_715;

    /// `2u = 2√(2/π)(x + 0.044715x³)` in f64, as `hi + lo` in f32.
    #[inline(always)]
    fn gelu_tanh_arg(x: f32) -> (f32, f32) {
        let x = clamp_1e4(x) as f64;
        let z = x * (GELU_TANH_C1 + GELU_TANH_C3 * x * x);
        let hi = z as f32;
        (hi, (z - hi as f64) as f32)
    }

    /// `0.5x(1 + tanh u) = x·σ(2u)`.
    #[inline(always)]
    pub fn gelu_tanh(x: f32) -> f32 {
        let (hi, lo) = gelu_tanh_arg(x);
        x * sigmoid_pair(hi, lo).0
    }

    /// `σ(2u) + x·σ(2u)(1 − σ(2u))·(2u)′`.
    #[inline(always)]
    pub fn gelu_tanh_d(x: f32) -> f32 {
        let (hi, lo) = gelu_tanh_arg(x);
        let (s, one_minus) = sigmoid_pair(hi, lo);
        // (2u)′ in f32: its rounding moves the slope by 1e-7 of the second term at most.
        let xc = clamp_1e4(x);
        let slope = GELU_TANH_C1 as f32 + (3.0 * GELU_TANH_C3) as f32 * xc * xc;
        s + x * (s * one_minus) * slope
    }

    /// `ReLU(x) + ε·x·e^(−x²/2)`.
    #[inline(always)]
    pub fn crrelu(x: f32, eps: f32) -> f32 {
        let (sq_hi, sq_lo) = half_square(x);
        let g = exp_corrected(-sq_hi, -sq_lo);
        let r = if x <= 0.0 { 0.0 } else { x };
        r + eps * x * g
    }

    /// `1[x > 0] + ε(1 − x²)e^(−x²/2)`, `1 − x²` from the exact square.
    #[inline(always)]
    pub fn crrelu_d(x: f32, eps: f32) -> f32 {
        let (half_hi, half_lo) = half_square(x);
        let g = exp_corrected(-half_hi, -half_lo);
        // 1 − x² = 1 − 2·(x²/2), exact products of two (g is 0 where the clamp applies).
        let one_minus = (1.0 - 2.0 * half_hi) - 2.0 * half_lo;
        relu_d(x) + eps * one_minus * g
    }

    /// `Σ aᵢ·ReLU(x)ⁱ` in f64 lanes, rounded once.
    #[inline(always)]
    pub fn poly_relu(x: f32, a: [f64; 4]) -> f32 {
        let r = if x <= 0.0 { 0.0 } else { x } as f64;
        (a[0] + r * (a[1] + r * (a[2] + r * a[3]))) as f32
    }

    #[inline(always)]
    pub fn poly_relu_d(x: f32, a: [f64; 4]) -> f32 {
        let r = x as f64;
        let slope = (a[1] + r * (2.0 * a[2] + r * 3.0 * a[3])) as f32;
        if x > 0.0 {
            slope
        } else if x <= 0.0 {
            0.0
        } else {
            x
        }
    }

    /// The interval of a KAN edge's knots that holds `x` (as an f64 index, `t_j ≤ x < t_{j+1}`,
    /// `t_j = −1 + (j − 3)·h`) and the position in it, `s ∈ [0, 1)`, in f64 lanes: exact
    /// enough that the bases' f32 polynomials below lose nothing to it.
    #[inline(always)]
    fn kan_interval(x: f32) -> (f64, f32) {
        const H: f64 = 0.4;
        let u = (x as f64 + 2.2) / H;
        let j = u.floor();
        (j, (u - j) as f32)
    }

    /// `Σ cᵢ·Bᵢ(x)` and its slope: of the eight cubic bases only `B_{j−3} … B_j` are non-zero
    /// in interval `j`, each a cubic in `s`; every coefficient picks its piece by a select (no
    /// gather, no branch), so the loop vectorises.
    #[inline(always)]
    fn kan_spline(x: f32, c: &[f32; super::KAN_BASES]) -> (f32, f32) {
        let (j, s) = kan_interval(x);
        let (s2, s3) = (s * s, s * s * s);
        let t = 1.0 - s;
        // The uniform cubic B-spline's four pieces — of the basis that ends in this interval
        // first, of the one that starts in it last — and their slopes in s.
        let pieces = [
            t * t * t / 6.0,
            (3.0 * s3 - 6.0 * s2 + 4.0) / 6.0,
            (-3.0 * s3 + 3.0 * s2 + 3.0 * s + 1.0) / 6.0,
            s3 / 6.0,
        ];
        let slopes = [-0.5 * t * t, 1.5 * s2 - 2.0 * s, -1.5 * s2 + s + 0.5, 0.5 * s2];
        let (mut value, mut slope) = (0.0f32, 0.0f32);
        for (i, &ci) in c.iter().enumerate() {
            // Basis i started d = j − i intervals ago: piece 3 − d.
            let d = j - i as f64;
            let (v, g) = if d == 0.0 {
                (pieces[3], slopes[3])
            } else if d == 1.0 {
                (pieces[2], slopes[2])
            } else if d == 2.0 {
                (pieces[1], slopes[1])
            } else if d == 3.0 {
                (pieces[0], slopes[0])
            } else {
                (0.0, 0.0)
            };
            value += ci * v;
            slope += ci * g;
        }
        (value, slope * 2.5) // d/dx = (d/ds)/h, h = 0.4
    }

    /// `w_b·SiLU(x) + w_s·Σ cᵢBᵢ(x)`.
    #[inline(always)]
    pub fn kan(x: f32, w_b: f32, w_s: f32, c: &[f32; super::KAN_BASES]) -> f32 {
        w_b * (x * super::sigmoid_f32(x, 0.0)) + w_s * kan_spline(x, c).0
    }

    #[inline(always)]
    pub fn kan_d(x: f32, w_b: f32, w_s: f32, c: &[f32; super::KAN_BASES]) -> f32 {
        w_b * silu_d(x, 1.0, 0.0) + w_s * kan_spline(x, c).1
    }

    /// `P(x)/Q(x)` in f64 lanes, rounded once; `b` holds `|b_k|`.
    #[inline(always)]
    pub fn rational(x: f32, a: [f64; 6], b: [f64; 4]) -> f32 {
        let x = x as f64;
        let ax = x.abs();
        let p = a[0] + x * (a[1] + x * (a[2] + x * (a[3] + x * (a[4] + x * a[5]))));
        let q = 1.0 + ax * (b[0] + ax * (b[1] + ax * (b[2] + ax * b[3])));
        (p / q) as f32
    }

    /// `(P′Q − PQ′)/Q²`, `Q′ = sign(x)·(|b₁| + 2|b₂||x| + 3|b₃|x² + 4|b₄||x|³)` (0 at x = 0).
    #[inline(always)]
    pub fn rational_d(x: f32, a: [f64; 6], b: [f64; 4]) -> f32 {
        let x = x as f64;
        let ax = x.abs();
        let p = a[0] + x * (a[1] + x * (a[2] + x * (a[3] + x * (a[4] + x * a[5]))));
        let dp = a[1] + x * (2.0 * a[2] + x * (3.0 * a[3] + x * (4.0 * a[4] + x * 5.0 * a[5])));
        let q = 1.0 + ax * (b[0] + ax * (b[1] + ax * (b[2] + ax * b[3])));
        let sign = if x > 0.0 {
            1.0
        } else if x < 0.0 {
            -1.0
        } else {
            0.0
        };
        let dq = sign * (b[0] + ax * (2.0 * b[1] + ax * (3.0 * b[2] + ax * 4.0 * b[3])));
        ((dp * q - p * dq) / (q * q)) as f32
    }
}

/// PolyNorm (PolyCom, Zhuo et al. 2025): `y = a_0 + Σ_{i=1..3} a_i·rms(x^i)` over each row of
/// `h` values, `rms(u) = u / sqrt(mean(u²) + 1e-6)` — row-wise, not elementwise.
pub fn polynorm_forward(a: [f32; 4], x: &[f32], h: usize, y: &mut [f32]) {
    assert!(h > 0 && x.len() == y.len() && x.len().is_multiple_of(h), "polynorm_forward: shapes");
    for (xr, yr) in x.chunks_exact(h).zip(y.chunks_exact_mut(h)) {
        yr.fill(a[0]);
        for (i, &ai) in a.iter().enumerate().skip(1) {
            let inv = 1.0 / power_rms(xr, i as i32);
            for (y, &x) in yr.iter_mut().zip(xr) {
                *y += ai * x.powi(i as i32) * inv;
            }
        }
    }
}

/// `sqrt(mean((x^p)²) + 1e-6)` of a row, accumulated in f64.
fn power_rms(row: &[f32], p: i32) -> f32 {
    let mean = row.iter().map(|&x| (x as f64).powi(2 * p)).sum::<f64>() / row.len() as f64;
    (mean + POLYNORM_EPS as f64).sqrt() as f32
}

pub const POLYNORM_EPS: f32 = 1e-6;

/// PolyNorm backward: `dx` (overwritten) and `da` (overwritten) from `dy`.
pub fn polynorm_backward(a: [f32; 4], x: &[f32], h: usize, dy: &[f32], dx: &mut [f32], da: &mut [f32; 4]) {
    assert!(h > 0 && x.len() == dy.len() && x.len() == dx.len() && x.len().is_multiple_of(h), "polynorm_backward");
    let mut da64 = [0.0f64; 4];
    for ((xr, gr), dxr) in x.chunks_exact(h).zip(dy.chunks_exact(h)).zip(dx.chunks_exact_mut(h)) {
        dxr.fill(0.0);
        da64[0] += gr.iter().map(|&g| g as f64).sum::<f64>();
        for (i, &ai) in a.iter().enumerate().skip(1) {
            let p = i as i32;
            let r = power_rms(xr, p) as f64;
            // With u = x^p and n = u/r: dn·u summed over the row, for the rms backward.
            let gu: f64 = gr.iter().zip(xr).map(|(&g, &x)| g as f64 * (x as f64).powi(p)).sum();
            da64[i] += gu / r;
            // du = a_i (g/r − u·Σ(g u)/(h r³)); dx += du·p·x^(p−1).
            let coupling = gu / (h as f64 * r * r * r);
            for ((d, &g), &x) in dxr.iter_mut().zip(gr).zip(xr) {
                let u = (x as f64).powi(p);
                let du = ai as f64 * (g as f64 / r - u * coupling);
                *d += (du * p as f64 * (x as f64).powi(p - 1)) as f32;
            }
        }
    }
    for (d, v) in da.iter_mut().zip(da64) {
        *d = v as f32;
    }
}

/// A gated unit over two inputs: SwiGLU (`SiLU_β(a)·b`) or GeGLU (`GELU(a)·b`).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "snake_case"))]
pub enum Gate {
    SwiGlu { beta: f64 },
    GeGlu,
}

impl Gate {
    fn inner(self) -> Activation {
        match self {
            Gate::SwiGlu { beta } => Activation::Silu { beta },
            Gate::GeGlu => Activation::Gelu,
        }
    }

    pub fn value(self, a: f32, b: f32) -> f32 {
        (self.inner().value_f64(a as f64) * b as f64) as f32
    }

    /// `(∂y/∂a, ∂y/∂b)`.
    pub fn gradients(self, a: f32, b: f32) -> (f32, f32) {
        let g = self.inner();
        ((g.derivative_f64(a as f64) * b as f64) as f32, g.value(a))
    }

    /// `∂y/∂β` of SwiGLU (none for GeGLU).
    pub fn param_grads(self, a: f32, b: f32) -> Vec<f32> {
        self.inner().param_grads_f64(a as f64).into_iter().map(|g| (g * b as f64) as f32).collect()
    }
}

/// PolyNorm over one row `x` (the plot's own x values), in f64: per element the value and
/// the first and second derivatives along the diagonal of the Jacobian (element `i` moved
/// alone, its effect on each `rms(xᵖ)` included).
pub fn polynorm_curve(a: [f64; 4], x: &[f64]) -> Vec<[f64; 3]> {
    let n = x.len().max(1) as f64;
    let rms: Vec<f64> =
        (1..=3).map(|p| (x.iter().map(|v| v.powi(2 * p)).sum::<f64>() / n + POLYNORM_EPS as f64).sqrt()).collect();
    x.iter()
        .map(|&v| {
            let mut out = [a[0], 0.0, 0.0];
            for p in 1..=3i32 {
                let (c, r, pf) = (a[p as usize], rms[p as usize - 1], p as f64);
                // u = xᵖ over r = rms(u): d(u/r) = (u′/r)(1 − q), q = u²/(n r²);
                // d²(u/r) = (1 − q)(u″/r − 3u u′²/(n r³)).
                let (u, u1, u2) = (v.powi(p), pf * v.powi(p - 1), pf * (pf - 1.0) * v.powi((p - 2).max(0)));
                let q = u * u / (n * r * r);
                out[0] += c * u / r;
                out[1] += c * u1 / r * (1.0 - q);
                out[2] += c * (1.0 - q) * (u2 / r - 3.0 * u * u1 * u1 / (n * r * r * r));
            }
            out
        })
        .collect()
}

/// Keeps the `k` largest values of each row of `h` (the first of equal values first) and
/// zeroes the rest, in place; returns how many were kept in all.
pub fn top_k_rows(x: &mut [f32], h: usize, k: usize) -> usize {
    assert!(h > 0 && x.len().is_multiple_of(h), "top_k_rows: rows of {h}");
    let mut order: Vec<usize> = Vec::with_capacity(h);
    let mut kept = 0;
    for row in x.chunks_exact_mut(h) {
        order.clear();
        order.extend(0..h);
        // Largest first; NaN sorts last; equal values keep their order.
        order.sort_by(|&i, &j| row[j].partial_cmp(&row[i]).unwrap_or_else(|| row[i].is_nan().cmp(&row[j].is_nan())));
        for &i in &order[k.min(h)..] {
            row[i] = 0.0;
        }
        kept += k.min(h);
    }
    kept
}

/// The activations with a vectorised form, with parameters that exercise them: the cases the
/// tests check (natively and in the browser) against the f64 forms.
pub fn fast_cases() -> Vec<Activation> {
    vec![
        Activation::Relu,
        Activation::LeakyRelu { alpha: 0.01 },
        Activation::LeakyRelu { alpha: 0.3 },
        Activation::SquaredRelu,
        Activation::Sigmoid,
        Activation::Silu { beta: 1.0 },
        Activation::Silu { beta: 1.7 },
        Activation::Silu { beta: 0.3 },
        Activation::Softplus { beta: 1.0 },
        Activation::Softplus { beta: 5.0 },
        Activation::Softplus { beta: 0.05 },
        Activation::Elu { alpha: 1.0 },
        Activation::Elu { alpha: 0.1 },
        Activation::Gelu,
        Activation::GeluTanh,
        Activation::Mish,
        Activation::Tanh,
        Activation::CrRelu { eps: 0.01 },
        Activation::CrRelu { eps: -0.8 },
        Activation::PolyRelu { a: [0.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0] },
        Activation::PolyRelu { a: [0.5, -1.0, 0.25, 0.1] },
        Activation::Rational { a: [0.0144, 0.5429, 0.3967, 0.0833, 0.0038, -0.0001], b: [0.1215, 0.1173, 0.0056, 0.0] },
        Activation::Rational { a: [1.0, -2.0, 0.5, 0.3, -0.1, 0.05], b: [-0.5, 1.0, 0.0, 0.2] },
        Activation::Kan { w_b: 1.0, w_s: 1.0, c: [0.0, 0.6, -0.8, 0.9, -0.9, 0.8, -0.6, 0.0] },
        Activation::Kan { w_b: -0.5, w_s: 2.0, c: [1.0, -1.0, 0.5, 0.25, -2.0, 3.0, 0.1, -0.7] },
    ]
}

/// How far a vectorised value or slope may be from the f64 form: `tol` relative (below
/// 1e-28 absolute, where `e^x` leaves f32's normal range); a slope also passes within
/// 1e-7·(1 + |x|) within 0.1·(1 + |x|) of where it crosses zero, and a polynomial's value within `tol` of the sum of
/// its terms' sizes (its f64 lanes round once; near a root only that is meaningful).
pub fn fast_error(act: Activation, x: f64, got: f32, want: f64, slope: bool) -> f64 {
    if want.abs() > f32::MAX as f64 {
        return if got.is_infinite() && got.signum() as f64 == want.signum() { 0.0 } else { f64::INFINITY };
    }
    let mut scale = want.abs().max(1e-28);
    if slope {
        let near_root = [-0.1, -0.03, -0.01, 0.01, 0.03, 0.1]
            .iter()
            .any(|&w| act.derivative_f64(x + w * (1.0 + x.abs())).signum() != want.signum());
        if near_root || want == 0.0 {
            scale = scale.max(1e-2 * (1.0 + x.abs()));
        }
    }
    if let Activation::PolyRelu { a } = act {
        let r = x.max(0.0);
        scale = scale.max(a.iter().enumerate().map(|(i, c)| (c * r.powi(i as i32)).abs()).sum());
    }
    if let Activation::Kan { w_b, w_s, c } = act {
        // A sum of the SiLU base and the spline's terms, each within a few f32 steps.
        let (bases, slopes) = kan_bases(x);
        let base = if slope { Activation::Silu { beta: 1.0 }.derivative_f64(x) } else { x * sigmoid(x) };
        let terms: f64 = if slope { slopes } else { bases }.iter().zip(&c).map(|(b, c)| (b * c).abs()).sum();
        scale = scale.max((w_b * base).abs() + (w_s * terms).abs());
    }
    if let Activation::Rational { a, b } = act {
        let p: f64 = a.iter().enumerate().map(|(i, c)| (c * x.powi(i as i32)).abs()).sum();
        let q = 1.0 + b.iter().enumerate().map(|(k, c)| (c * x.abs().powi(k as i32 + 1)).abs()).sum::<f64>();
        scale = scale.max(p / q);
    }
    (got as f64 - want).abs() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polynorm_curve_is_the_row_forward_and_its_diagonal_slope() {
        let a = [0.1, 1.0 / 3.0, 0.5, -0.25];
        let xs: Vec<f64> = (0..401).map(|i| -4.0 + 8.0 * i as f64 / 400.0).collect();
        let curve = polynorm_curve(a, &xs);
        let (a32, x32): ([f32; 4], Vec<f32>) = (a.map(|v| v as f32), xs.iter().map(|&v| v as f32).collect());
        let mut y = vec![0.0f32; xs.len()];
        polynorm_forward(a32, &x32, xs.len(), &mut y);
        for (c, &y) in curve.iter().zip(&y) {
            assert!((c[0] - y as f64).abs() < 1e-5, "{} vs {y}", c[0]);
        }
        // The diagonal slopes by central differences of the row in f64 (rms recomputed).
        let at = |row: &[f64], i: usize, k: usize| polynorm_curve(a, row)[i][k];
        for i in [0, 57, 200, 333, 400] {
            for k in [0, 1] {
                let h = 1e-4;
                let (mut up, mut down) = (xs.clone(), xs.clone());
                up[i] += h;
                down[i] -= h;
                let fd = (at(&up, i, k) - at(&down, i, k)) / (2.0 * h);
                let exact = curve[i][k + 1];
                assert!(
                    (fd - exact).abs() <= 1e-6 * fd.abs().max(1.0),
                    "x = {}, order {}: {fd} vs {exact}",
                    xs[i],
                    k + 1
                );
            }
        }
    }

    #[test]
    fn top_k_keeps_the_largest_of_each_row() {
        let mut x = vec![0.5, -1.0, 3.0, 2.0, /* row 2 */ 1.0, 1.0, 1.0, f32::NAN];
        assert_eq!(top_k_rows(&mut x, 4, 2), 4);
        assert_eq!(&x[..4], &[0.0, 0.0, 3.0, 2.0]);
        // Ties keep the first; NaN is never kept ahead of a number.
        assert_eq!(&x[4..7], &[1.0, 1.0, 0.0]);
        assert_eq!(x[7], 0.0);
        let mut all = vec![1.0, 2.0];
        assert_eq!(top_k_rows(&mut all, 2, 5), 2);
        assert_eq!(all, vec![1.0, 2.0]);
    }

    #[test]
    fn the_vectorised_forms_are_within_1e_6_and_their_slopes_within_1e_5() {
        // Every f32 from −100 to 100 in steps of about 1e-3, and the extremes.
        let mut x: Vec<f32> = (-100_000..=100_000).map(|i| i as f32 * 1e-3).collect();
        x.extend([-1e4, -90.0, -88.0, -87.5, -30.0, 30.0, 87.5, 88.0, 90.0, 1e4, 1e-30, -1e-30, 1e35, -1e35, 3e38]);
        let (mut y, mut dx) = (vec![0.0; x.len()], vec![0.0; x.len()]);
        let ones = vec![1.0f32; x.len()];
        let mut report = Vec::new();
        for act in fast_cases() {
            activation_forward(act, &x, &mut y);
            activation_backward(act, &x, &ones, &mut dx);
            let (mut worst_value, mut worst_slope) = ((0.0f64, 0.0f32), (0.0f64, 0.0f32));
            for ((&x, &y), &g) in x.iter().zip(&y).zip(&dx) {
                if x.abs() > 1e4 && matches!(act, Activation::PolyRelu { .. } | Activation::Rational { .. }) {
                    continue; // beyond f32's range there
                }
                let e = fast_error(act, x as f64, y, act.value_f64(x as f64), false);
                if e.is_nan() || e > worst_value.0 {
                    worst_value = (e, x);
                }
                let e = fast_error(act, x as f64, g, act.derivative_f64(x as f64), true);
                if e.is_nan() || e > worst_slope.0 {
                    worst_slope = (e, x);
                }
            }
            report.push(format!(
                "{act:?}: value {:.1e} at {}, slope {:.1e} at {}",
                worst_value.0, worst_value.1, worst_slope.0, worst_slope.1
            ));
            assert!(worst_value.0 <= 1e-6 && worst_slope.0 <= 1e-5, "{}", report.last().unwrap());
        }
        println!("{}", report.join("\n"));
        // NaN stays NaN.
        for act in fast_cases() {
            activation_forward(act, &[f32::NAN], &mut y[..1]);
            activation_backward(act, &[f32::NAN], &[1.0], &mut dx[..1]);
            assert!(y[0].is_nan() && dx[0].is_nan(), "{act:?}: {} {}", y[0], dx[0]);
        }
    }

    #[test]
    fn slices_agree_with_the_scalar_forms() {
        let x: Vec<f32> = (-50..=50).map(|i| i as f32 * 0.37).collect();
        // The forms without a vector loop: β beyond ±1000, softplus with β ≤ 0.
        for act in [Activation::Silu { beta: 2e3 }, Activation::Softplus { beta: -1.0 }] {
            let mut y = vec![0.0; x.len()];
            activation_forward(act, &x, &mut y);
            let dy = vec![2.0; x.len()];
            let mut dx = vec![0.0; x.len()];
            activation_backward(act, &x, &dy, &mut dx);
            for ((&x, &y), &g) in x.iter().zip(&y).zip(&dx) {
                assert_eq!(y, act.value(x), "{act:?} at {x}");
                assert_eq!(g, 2.0 * act.derivative(x), "{act:?} at {x}");
            }
        }
    }

    #[test]
    fn properties_are_the_known_ones() {
        let relu = Activation::Relu.properties();
        assert!(relu.monotone && relu.bounded_below && !relu.smooth && !relu.zero_centred);
        assert!(relu.saturates_left && !relu.saturates_right);
        assert!((relu.zero_fraction - 0.5).abs() < 1e-3, "{relu:?}");
        // E ReLU(z) = 1/√(2π).
        assert!((relu.mean - 0.398_942_28).abs() < 1e-4, "{relu:?}");
        let tanh = Activation::Tanh.properties();
        assert!(tanh.monotone && tanh.bounded_below && tanh.smooth && tanh.zero_centred);
        assert!(tanh.saturates_left && tanh.saturates_right && tanh.zero_fraction == 0.0);
        assert_eq!((tanh.value_at_0, tanh.slope_at_0), (0.0, 1.0));
        let gelu = Activation::Gelu.properties();
        assert!(!gelu.monotone && gelu.bounded_below && gelu.smooth && !gelu.zero_centred);
        assert!((gelu.slope_at_0 - 0.5).abs() < 1e-12);
        assert!(!Activation::LeakyRelu { alpha: 0.01 }.properties().bounded_below);
        assert!(Activation::Elu { alpha: 1.0 }.properties().smooth);
        assert!(!Activation::CrRelu { eps: 0.01 }.properties().smooth);
        assert!(Activation::SquaredRelu.properties().smooth);
        // The cases a fixed threshold gets wrong.
        assert!(!Activation::LeakyRelu { alpha: 1e-4 }.properties().bounded_below);
        assert!(!Activation::Elu { alpha: 1.005 }.properties().smooth);
        assert!(!Activation::LeakyRelu { alpha: 0.995 }.properties().smooth);
        assert!(Activation::Silu { beta: 300.0 }.properties().smooth);
        assert!(Activation::Softplus { beta: 0.1 }.properties().saturates_left);
        let c = [0.2, -0.5, 1.0, 0.3, -0.8, 0.6, -0.1, 0.4];
        let kan = Activation::Kan { w_b: -1.0, w_s: 1.0, c }.properties();
        assert!(!kan.bounded_below && kan.smooth, "{kan:?}");
        let poly = Activation::PolyRelu { a: [0.0, 1.0, 0.0, -1e-6] }.properties();
        assert!(!poly.bounded_below && !poly.monotone, "{poly:?}");
        // f'' of tanh at 0.5: −2 tanh(0.5) sech²(0.5).
        let t = 0.5f64.tanh();
        assert!((Activation::Tanh.second_derivative_f64(0.5) + 2.0 * t * (1.0 - t * t)).abs() < 1e-6);
    }

    #[test]
    fn kan_bases_are_a_partition_of_unity_inside_the_grid() {
        for i in 0..100 {
            let x = -1.0 + i as f64 * 0.02;
            let (b, _) = kan_bases(x);
            assert!((b.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{x}");
        }
        assert_eq!(kan_bases(5.0).0, [0.0; KAN_BASES]);
    }
}
