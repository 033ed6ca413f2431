//! The elementary functions of the kernels, `e^x` and `ln x`, as polynomials written without
//! branches or calls so that loops over them vectorise (wasm32's `exp` and `ln` are library
//! calls, one value at a time). docs/MATH.md, “Softmax attention” › the vectorised exponential.

pub(crate) const LOG2E: f32 = std::f32::consts::LOG2_E;
// ln 2 split so that k·LN2_HI is exact for the |k| <= 127 used here (Cody & Waite).
pub(crate) const LN2_HI: f32 = 0.693_359_4;
pub(crate) const LN2_LO: f32 = -2.121_944_4e-4;
// Minimax coefficients of e^t on [−ln2/2, ln2/2], degree 5 (as in XNNPACK's p5 kernels).
pub(crate) const C1: f32 = 0.999_999_7;
pub(crate) const C2: f32 = 0.499_991_5;
pub(crate) const C3: f32 = 0.166_676_52;
pub(crate) const C4: f32 = 0.041_897_822;
pub(crate) const C5: f32 = 0.008_289_291;
/// Below this, e^x is under the smallest normal float: the result is 0.
pub(crate) const EXP_LOWEST: f32 = -87.336_55;

/// `e^x` for `x <= 0` (callers subtract a row max first), to about 2 ulp, written without
/// branches or calls so that loops over it vectorise (f32x4 on wasm32 with simd128).
#[inline(always)]
pub fn exp_nonpositive(x: f32) -> f32 {
    // Adding 1.5·2^23 rounds to an integer in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    let xc = if x < EXP_LOWEST { EXP_LOWEST } else { x };
    let k = (xc * LOG2E + ROUND) - ROUND;
    let t = (xc - k * LN2_HI) - k * LN2_LO;
    let p = 1.0 + t * (C1 + t * (C2 + t * (C3 + t * (C4 + t * C5))));
    let two_k = f32::from_bits(((k as i32 + 127) as u32) << 23);
    if x < EXP_LOWEST {
        0.0
    } else {
        p * two_k
    }
}

// ln 2 split for the logarithm: k·LN2_HI_LOG is exact for every exponent k of an f32.
const LN2_HI_LOG: f32 = 0.693_138_1;
const LN2_LO_LOG: f32 = 9.058_001e-6;
// The fdlibm series of ln((1 + s)/(1 − s)) − 2s in z = s², in two halves (even and odd powers
// of z²) so that they evaluate in parallel.
const LG1: f32 = 0.666_666_6;
const LG2: f32 = 0.400_009_72;
const LG3: f32 = 0.284_987_87;
const LG4: f32 = 0.242_790_79;

/// `ln x` for `x` from the smallest normal float up, to about 1 ulp, written without branches
/// or calls so that loops over it vectorise. `x = 2^k (1 + f)` with `1 + f` in `[√½, √2)`, then
/// `ln(1 + f) = 2s + s·R(s²)` with `s = f / (2 + f)` (the fdlibm method). Smaller `x`, zero
/// included, are taken as the smallest normal (`ln` ≈ −87.3); `+∞` gives `+∞` and NaN NaN.
#[inline(always)]
pub fn ln_positive(x: f32) -> f32 {
    // Moving the exponent boundary from 1 to √½ leaves the mantissa in [√½, √2).
    const SQRT_HALF_BITS: u32 = 0x3f35_04f3;
    let x = if x < f32::MIN_POSITIVE { f32::MIN_POSITIVE } else { x };
    let bits = x.to_bits().wrapping_add(0x3f80_0000 - SQRT_HALF_BITS);
    let k = ((bits >> 23) as i32 - 127) as f32;
    let f = f32::from_bits((bits & 0x007f_ffff) + SQRT_HALF_BITS) - 1.0;
    let s = f / (2.0 + f);
    let (z, half_f2) = (s * s, 0.5 * f * f);
    let w = z * z;
    let r = z * (LG1 + w * LG3) + w * (LG2 + w * LG4);
    let ln = s * (half_f2 + r) + k * LN2_LO_LOG - half_f2 + f + k * LN2_HI_LOG;
    if x < f32::INFINITY {
        ln
    } else {
        x
    }
}

/// `ln(1 + u)` for `u` in `[0, 1]`, to about 2 ulp and branch-free: `ln w` of the rounded
/// `w = 1 + u`, corrected by `(u − (w − 1)) / w` for the rounding of the sum.
#[inline(always)]
pub fn ln_1p_unit(u: f32) -> f32 {
    let w = 1.0 + u;
    ln_positive(w) + (u - (w - 1.0)) / w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_positive_and_ln_1p_unit_are_accurate() {
        // Every binade of the normal floats, and within one, values across the mantissa.
        let mut worst = 0.0f64;
        let mut x = f32::MIN_POSITIVE;
        while x < f32::MAX / 1.01 {
            for step in 0..64 {
                let v = x * (1.0 + step as f32 / 64.0);
                let want = (v as f64).ln();
                if want != 0.0 {
                    worst = worst.max((ln_positive(v) as f64 - want).abs() / want.abs());
                }
            }
            x *= 2.0;
        }
        // Just around 1, where ln → 0, with its relative accuracy kept.
        for i in 1..10_000 {
            for v in [1.0 + i as f32 * f32::EPSILON, 1.0 - i as f32 * f32::EPSILON / 2.0] {
                let want = (v as f64).ln();
                worst = worst.max((ln_positive(v) as f64 - want).abs() / want.abs());
            }
        }
        assert!(worst < 1.2e-7, "ln: largest relative error {worst:e}");
        assert_eq!(ln_positive(1.0), 0.0);
        assert_eq!(ln_positive(f32::INFINITY), f32::INFINITY);
        assert!(ln_positive(f32::NAN).is_nan());
        assert_eq!(ln_positive(0.0), ln_positive(f32::MIN_POSITIVE));
        assert!((ln_positive(f32::MIN_POSITIVE) as f64 - (f32::MIN_POSITIVE as f64).ln()).abs() < 1e-5);
        let mut worst = 0.0f64;
        for i in 0..=100_000 {
            let u = i as f32 / 100_000.0 * (i as f32 / 100_000.0);
            let want = (u as f64).ln_1p();
            if want > 0.0 {
                worst = worst.max((ln_1p_unit(u) as f64 - want).abs() / want);
            }
        }
        assert!(worst < 2.5e-7, "ln_1p: largest relative error {worst:e}");
        assert_eq!(ln_1p_unit(0.0), 0.0);
        assert!((ln_1p_unit(1e-20) - 1e-20).abs() < 1e-26);
    }

    #[test]
    fn exp_nonpositive_is_accurate_down_to_underflow() {
        let mut worst = 0.0f64;
        let mut x = -87.3f32;
        while x <= 0.0 {
            let want = (x as f64).exp();
            worst = worst.max((exp_nonpositive(x) as f64 - want).abs() / want);
            x += 0.000_731;
        }
        assert!(worst < 3e-7, "largest relative error {worst:e}");
        assert_eq!(exp_nonpositive(0.0), 1.0);
        assert_eq!(exp_nonpositive(-100.0), 0.0);
        assert_eq!(exp_nonpositive(f32::NEG_INFINITY), 0.0);
    }
}
