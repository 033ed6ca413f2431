//! The transformer's input: each token's row of the embedding `wte`, plus its position's row
//! of `wpe` when positions are learned. docs/MATH.md, “The transformer” (“Embedding”).
//!
//! Shapes: `tokens` `[B, T]` (row `r` is position `r mod T`); `x`, `dx` `[B·T, C]`; `wte` and
//! `dwte` `[V, C]`; `wpe` and `dwpe` `[max_len, C]`.

/// `x[r] = wte[tokens[r]] (+ wpe[r mod T])`.
pub fn embedding_forward(x: &mut [f32], tokens: &[u32], wte: &[f32], wpe: Option<&[f32]>, t: usize, c: usize) {
    for (r, &tok) in tokens.iter().enumerate() {
        let row = &mut x[r * c..(r + 1) * c];
        row.copy_from_slice(&wte[tok as usize * c..(tok as usize + 1) * c]);
        if let Some(wpe) = wpe {
            let pos = r % t;
            row.iter_mut().zip(&wpe[pos * c..(pos + 1) * c]).for_each(|(a, b)| *a += b);
        }
    }
}

/// Back through [`embedding_forward`]: `dwte[tokens[r]] += dx[r]` and
/// `dwpe[r mod T] += dx[r]`, row by row in order.
pub fn embedding_backward(
    dwte: &mut [f32],
    mut dwpe: Option<&mut [f32]>,
    dx: &[f32],
    tokens: &[u32],
    t: usize,
    c: usize,
) {
    for (r, &tok) in tokens.iter().enumerate() {
        let d = &dx[r * c..(r + 1) * c];
        dwte[tok as usize * c..(tok as usize + 1) * c].iter_mut().zip(d).for_each(|(a, b)| *a += b);
        if let Some(dwpe) = dwpe.as_deref_mut() {
            let pos = r % t;
            dwpe[pos * c..(pos + 1) * c].iter_mut().zip(d).for_each(|(a, b)| *a += b);
        }
    }
}
