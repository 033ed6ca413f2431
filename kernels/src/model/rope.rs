//! Rotary position embeddings (RoPE) on each head's queries and keys. docs/MATH.md, “The
//! transformer” (“Positions”).
//!
//! Shapes: `x` is `[rows, T, hd]` row-major (`rows = B·NH`), `hd` even; pair `(i, i + hd/2)`
//! of the vector at position `t` turns by the angle `t·θ_i`.

/// RoPE's base: pair `i` of a head turns by `t·ROPE_BASE^(−2i/hd)` at position `t`.
pub const ROPE_BASE: f32 = 10_000.0;

/// The (cos, sin) of every position `0..t` and pair `0..hd/2`, position-major: the table
/// [`rope`] turns by, and the one the GPU training step reads (its own sin and cos may be
/// only as exact as WGSL requires, 2^-11).
pub fn turns(t: usize, hd: usize) -> Vec<(f32, f32)> {
    let half = hd / 2;
    (0..t)
        .flat_map(|pos| {
            (0..half).map(move |i| {
                let theta = ROPE_BASE.powf(-2.0 * i as f32 / hd as f32);
                let a = pos as f32 * theta;
                (a.cos(), a.sin())
            })
        })
        .collect()
}

/// Turns each head's vectors `x` `[rows, T, hd]` by RoPE in place: pair `(i, i + hd/2)` at
/// position `t` by `t·θ_i`, `θ_i = ROPE_BASE^(−2i/hd)`; `sign = −1` turns back (the backward
/// pass of a rotation is its inverse).
pub fn rope(x: &mut [f32], t: usize, hd: usize, sign: f32) {
    let half = hd / 2;
    let angles: Vec<(f32, f32)> = turns(t, hd).into_iter().map(|(c, s)| (c, sign * s)).collect();
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

/// RoPE on `q` or `k` before attention: [`rope`] with `sign = 1`.
pub fn rope_forward(x: &mut [f32], t: usize, hd: usize) {
    rope(x, t, hd, 1.0);
}

/// Back through [`rope_forward`]: `dq`, `dk` turned back by the same angles (a rotation's transpose is
/// its inverse).
pub fn rope_backward(dx: &mut [f32], t: usize, hd: usize) {
    rope(dx, t, hd, -1.0);
}
