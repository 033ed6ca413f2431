//! Top-k sparsification of hidden activations: keep the `k` largest of each row, zero the rest.
//! docs/MATH.md, “Activations” › “Top-k sparsity”.

/// Keeps the `k` largest values of each row of `h` (the first of equal values first) and
/// zeroes the rest, in place; returns how many were kept in all.
///
/// Shapes: `x` is `[rows, h]` row-major.
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
