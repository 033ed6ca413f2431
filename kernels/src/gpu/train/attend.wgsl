// Causal attention for training, read from and written to the projections' rows: q, k, v are
// columns [0, C), [C, 2C), [2C, 3C) of qkv [B·T][3C] (head h at h·hd), the output and its
// gradient rows of [B·T][C]. Normalisers: softmax, sigmoid with a fixed bias, ReLU / T,
// linear (φ = elu + 1, weights over their sum), LSSA (softplus weights over their sum,
// taken as a softmax of ln sp(s); the row scale ln d · ln N_i; q and k l2-normalised in place
// first, by `qk_norm`, whose norms `qk_norm_backward` uses) and LSSAR (LSSA's weights a,
// re-weighted: A' = relu(N a − O)^p / Σ, by a second pass over the keys, `attend_reweight`, and
// in the backward a pass for the row sums it needs, `attend_backward_rows`). The CPU's
// attention/ (mod.rs and a file per normaliser; scores.rs for the transform and the row scale).
//
// No T×T buffer: the forward streams keys with a running max and sum (online softmax) and
// keeps five numbers per query row in `stats` (max, sum, LSSAR's sum of r, D = dO·O, and
// LSSAR's E = Σ a dA for the backward; see `stat`);
// the backward recomputes each weight from q, k and those numbers, once per query row (for
// dq) and once per key row (for dk, dv). Each invocation walks a block [lo, hi) of keys or
// queries and keeps its state in memory between blocks, so that the host bounds an
// invocation's loop iterations (llvmpipe stops one after ~65k).

struct Params {
    rows: u32,
    t: u32,
    hd: u32,
    heads: u32,
    c: u32,
    qkv: u32,
    att: u32,
    stats: u32,
    dqkv: u32,
    datt: u32,
    // 0 softmax, 1 sigmoid, 2 ReLU, 3 linear, 4 LSSA, 5 LSSAR.
    kind: u32,
    lo: u32,
    hi: u32,
    first: u32,
    scale: f32,
    // Sigmoid's bias; for LSSA and LSSAR 1 when the row scale is `scale · ln N_i`, else 0.
    bias: f32,
    // LSSAR's re-weighting power p.
    power: f32,
}

@group(0) @binding(1) var<uniform> p: Params;

const MAX_HD: u32 = 256u;

// Where statistic k of query row `row` is: 0 the running max and 1 the sum of the softmax (or
// LSSA's, under LSSAR), 2 LSSAR's Σ r, 3 D = dO·O, 4 LSSAR's E = Σ_j a_j dA_j.
fn stat(row: u32, k: u32) -> u32 {
    return p.stats + 5u * row + k;
}

// Whether the normaliser is LSSA's softmax of ln sp(s) (LSSA, and LSSAR's first weights).
fn lssa_like() -> bool {
    return p.kind == 4u || p.kind == 5u;
}

// Where row i of head bh (= b·heads + h) starts in a tensor of rows of `width`, plus `column`.
fn at(bh: u32, i: u32, width: u32, column: u32) -> u32 {
    let b = bh / p.heads;
    let h = bh % p.heads;
    return (b * p.t + i) * width + column + h * p.hd;
}

// The feature map of linear attention (identity for the others).
fn phi(x: f32) -> f32 {
    if (p.kind == 3u) {
        if (x > 0.0) {
            return x + 1.0;
        }
        return exp(x);
    }
    return x;
}

// dφ/dx.
fn dphi(x: f32) -> f32 {
    if (p.kind == 3u && x <= 0.0) {
        return exp(x);
    }
    return 1.0;
}

fn sigmoid(x: f32) -> f32 {
    if (x >= 0.0) {
        return 1.0 / (1.0 + exp(-x));
    }
    let e = exp(x);
    return e / (1.0 + e);
}

// The scale of row i's scores: LSSA's ln d · ln N_i (N_i = i + 1 keys), else `scale`.
fn row_scale(i: u32) -> f32 {
    if (lssa_like() && p.bias > 0.5) {
        return p.scale * log(f32(i + 1u));
    }
    return p.scale;
}

// ln(1 + u) for u in [0, 1], without losing small u to the rounding of 1 + u: ln w · u / (w − 1)
// with w = 1 + u rounded is exact to a few ulps (the rounding error cancels), and below 1e-4
// two terms of the series are.
fn log1p(u: f32) -> f32 {
    if (u < 1e-4) {
        return u * (1.0 - 0.5 * u);
    }
    let w = 1.0 + u;
    return log(w) * u / (w - 1.0);
}

fn softplus(x: f32) -> f32 {
    return max(x, 0.0) + log1p(exp(-abs(x)));
}

// ℓ(s) = ln sp(s), and s itself below −30 (as the CPU).
fn log_softplus(s: f32) -> f32 {
    if (s < -30.0) {
        return s;
    }
    return log(softplus(s));
}

// dℓ/ds = σ(s) / sp(s).
fn d_log_softplus(s: f32) -> f32 {
    if (s < -30.0) {
        return 1.0;
    }
    return sigmoid(s) / softplus(s);
}

// row_scale(i) · φ(q_i)·φ(k_j).
fn score(bh: u32, i: u32, j: u32) -> f32 {
    let qi = p.qkv + at(bh, i, 3u * p.c, 0u);
    let kj = p.qkv + at(bh, j, 3u * p.c, p.c);
    var s = 0.0;
    for (var e = 0u; e < p.hd; e = e + 1u) {
        s = s + phi(mem[qi + e]) * phi(mem[kj + e]);
    }
    return s * row_scale(i);
}

// dO_i·v_j.
fn dscore(bh: u32, i: u32, j: u32) -> f32 {
    let di = p.datt + at(bh, i, p.c, 0u);
    let vj = p.qkv + at(bh, j, 3u * p.c, 2u * p.c);
    var s = 0.0;
    for (var e = 0u; e < p.hd; e = e + 1u) {
        s = s + mem[di + e] * mem[vj + e];
    }
    return s;
}

// LSSA's weight a_ij of score s in row `row` (after the forward's first pass).
fn lssa_weight(s: f32, row: u32) -> f32 {
    return exp(log_softplus(s) - mem[stat(row, 0u)]) / mem[stat(row, 1u)];
}

// LSSAR's offset O_i: 0 for the first three rows, else 1.
fn lssar_offset(i: u32) -> f32 {
    return select(1.0, 0.0, i < 3u);
}

// LSSAR's largest z = N a − O of row i: at the largest LSSA weight, which is 1 / sum. At most 0
// when no weight is above O / N: the row keeps its LSSA weights.
fn lssar_z_max(row: u32, i: u32) -> f32 {
    return f32(i + 1u) / mem[stat(row, 1u)] - lssar_offset(i);
}

// LSSAR's unnormalised r = (z / z_max)^p for z = N a − O > 0, else 0.
fn lssar_r(s: f32, row: u32, i: u32, z_max: f32) -> f32 {
    let z = f32(i + 1u) * lssa_weight(s, row) - lssar_offset(i);
    if (z > 0.0) {
        return pow(z / z_max, p.power);
    }
    return 0.0;
}

// The weight A_ij from the score and row i's statistics.
fn weight(s: f32, row: u32) -> f32 {
    switch p.kind {
        case 0u: {
            return exp(s - mem[stat(row, 0u)]) / mem[stat(row, 1u)];
        }
        case 4u: {
            return lssa_weight(s, row);
        }
        case 5u: {
            let i = row % p.t;
            let z_max = lssar_z_max(row, i);
            if (z_max <= 0.0) {
                return lssa_weight(s, row);
            }
            return lssar_r(s, row, i, z_max) / mem[stat(row, 2u)];
        }
        case 1u: {
            return sigmoid(s + p.bias);
        }
        case 2u: {
            return max(s, 0.0) / f32(p.t);
        }
        default: {
            let sum = mem[stat(row, 1u)];
            if (sum > 0.0) {
                return s / sum;
            }
            return 1.0 / f32(row % p.t + 1u);
        }
    }
}

// LSSAR's dA_ij (the gradient at LSSA's weight a) from dA'_ij = dp and the LSSAR weight a2:
// dA = N p A'/z (dA' − D) where z = N a − O > 0, else 0; the LSSA row's own dA' where the row
// kept its LSSA weights.
fn lssar_da(s: f32, a2: f32, dp: f32, row: u32) -> f32 {
    let i = row % p.t;
    if (lssar_z_max(row, i) <= 0.0) {
        return dp;
    }
    let n = f32(i + 1u);
    let z = n * lssa_weight(s, row) - lssar_offset(i);
    if (z > 0.0 && a2 > 0.0) {
        return n * p.power * a2 / z * (dp - mem[stat(row, 3u)]);
    }
    return 0.0;
}

// ∂L/∂s_ij from dA_ij = dP, the weight and row i's statistics (the scale is applied by the caller).
fn dweight(s: f32, a: f32, dp: f32, row: u32) -> f32 {
    switch p.kind {
        case 0u: {
            return a * (dp - mem[stat(row, 3u)]);
        }
        case 4u: {
            return a * (dp - mem[stat(row, 3u)]) * d_log_softplus(s);
        }
        case 5u: {
            return lssa_weight(s, row) * (lssar_da(s, a, dp, row) - mem[stat(row, 4u)]) * d_log_softplus(s);
        }
        case 1u: {
            return dp * a * (1.0 - a);
        }
        case 2u: {
            if (s > 0.0) {
                return dp / f32(p.t);
            }
            return 0.0;
        }
        default: {
            let sum = mem[stat(row, 1u)];
            if (sum > 0.0) {
                return (dp - mem[stat(row, 3u)]) / sum;
            }
            return 0.0;
        }
    }
}

// One query row over keys [lo, hi) ∩ [0, i]: the running max and sum in stats, the unnormalised
// output in att.
@compute @workgroup_size(64)
fn attend_forward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let row = id.x + id.y * g.x * 64u;
    if (row >= p.rows) {
        return;
    }
    let bh = row / p.t;
    let i = row % p.t;
    let out = p.att + at(bh, i, p.c, 0u);
    var acc: array<f32, MAX_HD>;
    var m = -3.4e38;
    var l = 0.0;
    if (p.first == 0u) {
        m = mem[stat(row, 0u)];
        l = mem[stat(row, 1u)];
        for (var e = 0u; e < p.hd; e = e + 1u) {
            acc[e] = mem[out + e];
        }
    }
    let hi = min(p.hi, i + 1u);
    for (var j = p.lo; j < hi; j = j + 1u) {
        var s = score(bh, i, j);
        if (lssa_like()) {
            s = log_softplus(s);
        }
        var w = 0.0;
        switch p.kind {
            case 0u, 4u, 5u: {
                let m_new = max(m, s);
                let correction = exp(m - m_new);
                w = exp(s - m_new);
                l = l * correction + w;
                m = m_new;
                for (var e = 0u; e < p.hd; e = e + 1u) {
                    acc[e] = acc[e] * correction;
                }
            }
            case 1u: {
                w = sigmoid(s + p.bias);
            }
            case 2u: {
                w = max(s, 0.0) / f32(p.t);
            }
            default: {
                w = s;
                l = l + s;
            }
        }
        let vj = p.qkv + at(bh, j, 3u * p.c, 2u * p.c);
        for (var e = 0u; e < p.hd; e = e + 1u) {
            acc[e] = acc[e] + w * mem[vj + e];
        }
    }
    mem[stat(row, 0u)] = m;
    mem[stat(row, 1u)] = l;
    for (var e = 0u; e < p.hd; e = e + 1u) {
        mem[out + e] = acc[e];
    }
}

// LSSAR's second pass, after the first has the rows' LSSA statistics: one query row over keys
// [lo, hi) ∩ [0, i], Σ r in stats and the unnormalised output Σ r v in att. A row with no
// weight above O / N keeps the first pass's LSSA output.
@compute @workgroup_size(64)
fn attend_reweight(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let row = id.x + id.y * g.x * 64u;
    if (row >= p.rows) {
        return;
    }
    let bh = row / p.t;
    let i = row % p.t;
    let z_max = lssar_z_max(row, i);
    if (z_max <= 0.0) {
        return;
    }
    let out = p.att + at(bh, i, p.c, 0u);
    var acc: array<f32, MAX_HD>;
    var total = 0.0;
    if (p.first == 0u) {
        total = mem[stat(row, 2u)];
        for (var e = 0u; e < p.hd; e = e + 1u) {
            acc[e] = mem[out + e];
        }
    }
    let hi = min(p.hi, i + 1u);
    for (var j = p.lo; j < hi; j = j + 1u) {
        let r = lssar_r(score(bh, i, j), row, i, z_max);
        total = total + r;
        let vj = p.qkv + at(bh, j, 3u * p.c, 2u * p.c);
        for (var e = 0u; e < p.hd; e = e + 1u) {
            acc[e] = acc[e] + r * mem[vj + e];
        }
    }
    mem[stat(row, 2u)] = total;
    for (var e = 0u; e < p.hd; e = e + 1u) {
        mem[out + e] = acc[e];
    }
}

// After the last key block: softmax, LSSA and linear divide by the row's sum, LSSAR by its Σ r
// (linear with a zero sum takes uniform weights, as the CPU does).
@compute @workgroup_size(64)
fn attend_finish(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let row = id.x + id.y * g.x * 64u;
    if (row >= p.rows || p.kind == 1u || p.kind == 2u) {
        return;
    }
    let bh = row / p.t;
    let i = row % p.t;
    let out = p.att + at(bh, i, p.c, 0u);
    var l = mem[stat(row, 1u)];
    if (p.kind == 5u && lssar_z_max(row, i) > 0.0) {
        l = mem[stat(row, 2u)];
    }
    if (l > 0.0) {
        for (var e = 0u; e < p.hd; e = e + 1u) {
            mem[out + e] = mem[out + e] / l;
        }
        return;
    }
    for (var e = 0u; e < p.hd; e = e + 1u) {
        var s = 0.0;
        for (var j = 0u; j <= i; j = j + 1u) {
            s = s + mem[p.qkv + at(bh, j, 3u * p.c, 2u * p.c) + e];
        }
        mem[out + e] = s / f32(i + 1u);
    }
}

// D_i = dO_i·O_i.
fn output_dot(bh: u32, i: u32) -> f32 {
    let oi = p.att + at(bh, i, p.c, 0u);
    let di = p.datt + at(bh, i, p.c, 0u);
    var d = 0.0;
    for (var e = 0u; e < p.hd; e = e + 1u) {
        d = d + mem[di + e] * mem[oi + e];
    }
    return d;
}

// LSSAR's row sums for the backward, before the other backward passes: one query row over
// keys [lo, hi) ∩ [0, i]; the first block stores D_i = dO_i·O_i, every block adds to
// E_i = Σ_j a_ij dA_ij (LSSA's weights and their gradients, through the re-weighting).
@compute @workgroup_size(64)
fn attend_backward_rows(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let row = id.x + id.y * g.x * 64u;
    if (row >= p.rows) {
        return;
    }
    let bh = row / p.t;
    let i = row % p.t;
    var e_sum = 0.0;
    if (p.first == 1u) {
        mem[stat(row, 3u)] = output_dot(bh, i);
    } else {
        e_sum = mem[stat(row, 4u)];
    }
    let hi = min(p.hi, i + 1u);
    for (var j = p.lo; j < hi; j = j + 1u) {
        let s = score(bh, i, j);
        e_sum = e_sum + lssa_weight(s, row) * lssar_da(s, weight(s, row), dscore(bh, i, j), row);
    }
    mem[stat(row, 4u)] = e_sum;
}

// One query row over keys [lo, hi): dq_i += scale · Σ_j dS_ij φ(k_j), times φ'(q_i). The first
// block also stores D_i = dO_i·O_i (LSSAR's backward_rows has).
@compute @workgroup_size(64)
fn attend_backward_queries(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let row = id.x + id.y * g.x * 64u;
    if (row >= p.rows) {
        return;
    }
    let bh = row / p.t;
    let i = row % p.t;
    let qi = p.qkv + at(bh, i, 3u * p.c, 0u);
    let dqi = p.dqkv + at(bh, i, 3u * p.c, 0u);
    if (p.first == 1u && p.kind != 5u) {
        mem[stat(row, 3u)] = output_dot(bh, i);
    }
    var acc: array<f32, MAX_HD>;
    let hi = min(p.hi, i + 1u);
    for (var j = p.lo; j < hi; j = j + 1u) {
        let s = score(bh, i, j);
        let ds = dweight(s, weight(s, row), dscore(bh, i, j), row) * row_scale(i);
        let kj = p.qkv + at(bh, j, 3u * p.c, p.c);
        for (var e = 0u; e < p.hd; e = e + 1u) {
            acc[e] = acc[e] + ds * phi(mem[kj + e]);
        }
    }
    for (var e = 0u; e < p.hd; e = e + 1u) {
        var v = acc[e] * dphi(mem[qi + e]);
        if (p.first == 0u) {
            v = mem[dqi + e] + v;
        }
        mem[dqi + e] = v;
    }
}

// One key row j over queries [lo, hi) ∩ [j, T): dv_j += Σ_i A_ij dO_i and
// dk_j += scale · Σ_i dS_ij φ(q_i), times φ'(k_j).
@compute @workgroup_size(64)
fn attend_backward_keys(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let key = id.x + id.y * g.x * 64u;
    if (key >= p.rows) {
        return;
    }
    let bh = key / p.t;
    let j = key % p.t;
    let kj = p.qkv + at(bh, j, 3u * p.c, p.c);
    let dkj = p.dqkv + at(bh, j, 3u * p.c, p.c);
    let dvj = p.dqkv + at(bh, j, 3u * p.c, 2u * p.c);
    var dk: array<f32, MAX_HD>;
    var dv: array<f32, MAX_HD>;
    for (var i = max(p.lo, j); i < p.hi; i = i + 1u) {
        let row = bh * p.t + i;
        let s = score(bh, i, j);
        let a = weight(s, row);
        let ds = dweight(s, a, dscore(bh, i, j), row) * row_scale(i);
        let qi = p.qkv + at(bh, i, 3u * p.c, 0u);
        let di = p.datt + at(bh, i, p.c, 0u);
        for (var e = 0u; e < p.hd; e = e + 1u) {
            dv[e] = dv[e] + a * mem[di + e];
            dk[e] = dk[e] + ds * phi(mem[qi + e]);
        }
    }
    for (var e = 0u; e < p.hd; e = e + 1u) {
        var k = dk[e] * dphi(mem[kj + e]);
        var v = dv[e];
        if (p.first == 0u) {
            k = mem[dkj + e] + k;
            v = mem[dvj + e] + v;
        }
        mem[dkj + e] = k;
        mem[dvj + e] = v;
    }
}

// Where the l2 norm of q (`which` 0) or k (1) of row `row` is kept: after the rows' statistics.
fn norm_at(row: u32, which: u32) -> u32 {
    return p.stats + 5u * p.rows + 2u * row + which;
}

// LSSA's qk-norm, in place: q_i and k_i of each head divided by r = sqrt(|x|² + 1e-12), r kept.
// One invocation per (row, q or k).
@compute @workgroup_size(64)
fn qk_norm(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let e = id.x + id.y * g.x * 64u;
    if (e >= 2u * p.rows) {
        return;
    }
    let row = e / 2u;
    let which = e % 2u;
    let x = p.qkv + at(row / p.t, row % p.t, 3u * p.c, which * p.c);
    var ss = 0.0;
    for (var d = 0u; d < p.hd; d = d + 1u) {
        ss = ss + mem[x + d] * mem[x + d];
    }
    let r = sqrt(ss + 1e-12);
    for (var d = 0u; d < p.hd; d = d + 1u) {
        mem[x + d] = mem[x + d] / r;
    }
    mem[norm_at(row, which)] = r;
}

// Back through the qk-norm, in place on the gradient: dx = (dx' − x' (x'·dx')) / r, where x' is
// the normalised q or k the forward left.
@compute @workgroup_size(64)
fn qk_norm_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let e = id.x + id.y * g.x * 64u;
    if (e >= 2u * p.rows) {
        return;
    }
    let row = e / 2u;
    let which = e % 2u;
    let offset = at(row / p.t, row % p.t, 3u * p.c, which * p.c);
    let x = p.qkv + offset;
    let dx = p.dqkv + offset;
    var proj = 0.0;
    for (var d = 0u; d < p.hd; d = d + 1u) {
        proj = proj + mem[x + d] * mem[dx + d];
    }
    let r = mem[norm_at(row, which)];
    for (var d = 0u; d < p.hd; d = d + 1u) {
        mem[dx + d] = (mem[dx + d] - mem[x + d] * proj) / r;
    }
}

// RoPE on the q and k columns of rows [B·T][3C] at `qkv` (the step's qkv, or its gradient with
// `bias` = −1 to turn back): pair (e, e + hd/2) of a head at position t turns by t·10000^(−2e/hd).
// One invocation per (row, head, pair) and per q or k.
@compute @workgroup_size(64)
fn rope(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let e = id.x + id.y * g.x * 64u;
    let half_hd = p.hd / 2u;
    let per_row = 2u * p.heads * half_hd;
    if (e >= p.rows * per_row) {
        return;
    }
    let r = e / per_row;
    let rest = e % per_row;
    let which = rest / (p.heads * half_hd);
    let h = (rest / half_hd) % p.heads;
    let pair = rest % half_hd;
    // The host's table of (cos, sin) at `p.att` (WGSL's own sin and cos need only be within
    // 2^-11, and SwiftShader's are: enough to part the GPU's run from the CPU's).
    let turn = p.att + 2u * ((r % p.t) * half_hd + pair);
    let cs = mem[turn];
    let sn = p.bias * mem[turn + 1u];
    let base = p.qkv + r * 3u * p.c + which * p.c + h * p.hd + pair;
    let a = mem[base];
    let b = mem[base + half_hd];
    mem[base] = a * cs - b * sn;
    mem[base + half_hd] = b * cs + a * sn;
}
