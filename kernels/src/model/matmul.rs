//! The transformer's matrix products, forward and backward (row-major, llm.c's `matmul`).

/// `out[N][O] = inp[N][I]·w[I][O] + bias[O]`.
pub fn matmul_forward(out: &mut [f32], inp: &[f32], w: &[f32], bias: Option<&[f32]>, n: usize, i: usize, o: usize) {
    for r in 0..n {
        let row = &mut out[r * o..(r + 1) * o];
        match bias {
            Some(b) => row.copy_from_slice(b),
            None => row.fill(0.0),
        }
        for (k, &x) in inp[r * i..(r + 1) * i].iter().enumerate() {
            for (y, &wv) in row.iter_mut().zip(&w[k * o..(k + 1) * o]) {
                *y += x * wv;
            }
        }
    }
}

/// `dinp += dout·wᵀ`, `dw += inpᵀ·dout`, `dbias += Σ_n dout`.
#[allow(clippy::too_many_arguments)]
pub fn matmul_backward(
    dinp: &mut [f32],
    dw: &mut [f32],
    dbias: Option<&mut [f32]>,
    dout: &[f32],
    inp: &[f32],
    w: &[f32],
    n: usize,
    i: usize,
    o: usize,
) {
    for r in 0..n {
        let d = &dout[r * o..(r + 1) * o];
        for k in 0..i {
            let wrow = &w[k * o..(k + 1) * o];
            dinp[r * i + k] += d.iter().zip(wrow).map(|(a, b)| a * b).sum::<f32>();
            let x = inp[r * i + k];
            for (g, &dv) in dw[k * o..(k + 1) * o].iter_mut().zip(d) {
                *g += x * dv;
            }
        }
    }
    if let Some(db) = dbias {
        for r in 0..n {
            for (g, &dv) in db.iter_mut().zip(&dout[r * o..(r + 1) * o]) {
                *g += dv;
            }
        }
    }
}
