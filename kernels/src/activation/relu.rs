//! The rectifier family: ReLU, leaky ReLU, squared ReLU, ELU and CRReLU — `x` (or its square)
//! on the right, something small on the left. Math, defaults and papers: docs/MATH.md,
//! “Activations” › “ReLU family”.
//!
//! Each function's f64 form (value, slope, parameter gradient) and its vectorised f32 form
//! (`*_fast`) sit together. The vectorised forms keep a NaN input NaN: `x <= 0` and `x > 0` are
//! both false for it, so their selects fall through to `x`. (The f64 slopes never see a NaN:
//! [`super::Activation::derivative_f64`] answers NaN first.)

use super::exact::{exp_corrected, half_square};
use crate::vector::exp_nonpositive;

/// `max(x, 0)`, with a NaN staying NaN (so that a broken input shows downstream).
#[inline]
pub(super) fn relu(x: f64) -> f64 {
    if x <= 0.0 {
        0.0
    } else {
        x
    }
}

/// `1[x > 0]`: the left-hand slope (0) at the kink.
#[inline]
pub(super) fn relu_d(x: f64) -> f64 {
    f64::from(x > 0.0)
}

/// [`relu`] in f32: a select vectorises where `max`'s NaN rule does not, and a NaN input stays
/// NaN (the model's NaN check must see it).
#[inline(always)]
pub(super) fn relu_fast(x: f32) -> f32 {
    if x <= 0.0 {
        0.0
    } else {
        x
    }
}

#[inline(always)]
pub(super) fn relu_fast_d(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x <= 0.0 {
        0.0
    } else {
        x
    }
}

/// `x` for `x > 0`, else `α·x`.
#[inline]
pub(super) fn leaky_relu(x: f64, alpha: f64) -> f64 {
    if x > 0.0 {
        x
    } else {
        alpha * x
    }
}

#[inline]
pub(super) fn leaky_relu_d(x: f64, alpha: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else {
        alpha
    }
}

/// `∂f/∂α`.
#[inline]
pub(super) fn leaky_relu_param_grad(x: f64) -> f64 {
    if x > 0.0 {
        0.0
    } else {
        x
    }
}

#[inline(always)]
pub(super) fn leaky_relu_fast(x: f32, alpha: f32) -> f32 {
    if x > 0.0 {
        x
    } else {
        alpha * x
    }
}

#[inline(always)]
pub(super) fn leaky_relu_fast_d(x: f32, alpha: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x <= 0.0 {
        alpha
    } else {
        x
    }
}

/// `ReLU(x)²`.
#[inline]
pub(super) fn squared_relu(x: f64) -> f64 {
    relu(x) * relu(x)
}

#[inline]
pub(super) fn squared_relu_d(x: f64) -> f64 {
    2.0 * relu(x)
}

#[inline(always)]
pub(super) fn squared_relu_fast(x: f32) -> f32 {
    if x <= 0.0 {
        0.0
    } else {
        x * x
    }
}

#[inline(always)]
pub(super) fn squared_relu_fast_d(x: f32) -> f32 {
    if x <= 0.0 {
        0.0
    } else {
        2.0 * x
    }
}

/// `x` for `x > 0`, else `α(e^x − 1)`, through `expm1` (no cancellation near 0).
#[inline]
pub(super) fn elu(x: f64, alpha: f64) -> f64 {
    if x > 0.0 {
        x
    } else {
        alpha * x.exp_m1()
    }
}

#[inline]
pub(super) fn elu_d(x: f64, alpha: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else {
        alpha * x.exp()
    }
}

/// `∂f/∂α`.
#[inline]
pub(super) fn elu_param_grad(x: f64) -> f64 {
    if x > 0.0 {
        0.0
    } else {
        x.exp_m1()
    }
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
pub(super) fn elu_fast(x: f32, alpha: f32) -> f32 {
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
pub(super) fn elu_fast_d(x: f32, alpha: f32) -> f32 {
    let negative = alpha * exp_nonpositive(if x > 0.0 { 0.0 } else { x });
    if x > 0.0 {
        1.0
    } else if x <= 0.0 {
        negative
    } else {
        x
    }
}

/// CRReLU: `ReLU(x) + ε·x·e^(−x²/2)`.
#[inline]
pub(super) fn crrelu(x: f64, eps: f64) -> f64 {
    relu(x) + eps * x * (-0.5 * x * x).exp()
}

/// `1[x > 0] + ε(1 − x²)e^(−x²/2)`.
#[inline]
pub(super) fn crrelu_d(x: f64, eps: f64) -> f64 {
    f64::from(x > 0.0) + eps * (1.0 - x * x) * (-0.5 * x * x).exp()
}

/// `∂f/∂ε = x·e^(−x²/2)`.
#[inline]
pub(super) fn crrelu_param_grad(x: f64) -> f64 {
    x * (-0.5 * x * x).exp()
}

/// [`crrelu`] in f32, with `x²/2` exact in the exponent.
#[inline(always)]
pub(super) fn crrelu_fast(x: f32, eps: f32) -> f32 {
    let (sq_hi, sq_lo) = half_square(x);
    let g = exp_corrected(-sq_hi, -sq_lo);
    let r = if x <= 0.0 { 0.0 } else { x };
    r + eps * x * g
}

/// [`crrelu_d`] in f32, `1 − x²` from the exact square.
#[inline(always)]
pub(super) fn crrelu_fast_d(x: f32, eps: f32) -> f32 {
    let (half_hi, half_lo) = half_square(x);
    let g = exp_corrected(-half_hi, -half_lo);
    // 1 − x² = 1 − 2·(x²/2), exact products of two (g is 0 where the clamp applies).
    let one_minus = (1.0 - 2.0 * half_hi) - 2.0 * half_lo;
    relu_fast_d(x) + eps * one_minus * g
}
