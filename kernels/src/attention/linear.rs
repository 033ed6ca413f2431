//! Linear attention (Katharopoulos et al. 2020, "Transformers are RNNs"): the feature map
//! `φ(x) = elu(x) + 1` on queries and keys, `A_ij = φ(q_i)·φ(k_j) / Σ_j φ(q_i)·φ(k_j)`.
//! Its point is that `O_i` can be computed from running sums in O(n·d²); here it is computed
//! as weights like the others, so the lab can draw and compare them. A row whose scores all
//! underflow to 0 gets uniform weights. docs/MATH.md, “ReLU and linear attention”.

/// Scores (already `φ(q)·φ(k)`, non-negative) to weights, in place.
pub fn row_forward(row: &mut [f32]) {
    let sum: f32 = row.iter().sum();
    if sum > 0.0 {
        let inv = 1.0 / sum;
        row.iter_mut().for_each(|s| *s *= inv);
    } else {
        let uniform = 1.0 / row.len() as f32;
        row.fill(uniform);
    }
}

/// `ds = (dA − Σ A dA) / Σ s`; zero for a uniform fallback row. `dA` is shifted first, as in
/// [`super::softmax::row_backward`], to avoid cancellation in nearly one-hot rows.
pub fn row_backward(s: &[f32], a: &[f32], da: &mut [f32]) {
    let sum: f32 = s.iter().sum();
    if sum > 0.0 {
        super::softmax::shift_by_largest(a, da);
        let inner = crate::vector::dot(a, da);
        let inv = 1.0 / sum;
        for g in da.iter_mut() {
            *g = (*g - inner) * inv;
        }
    } else {
        da.fill(0.0);
    }
}
