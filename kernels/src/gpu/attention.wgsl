// Attention forward on the GPU: the twin of `attention::attention_forward` on the CPU for
// softmax, LSSA, LSSAR and sigmoid (docs/MATH.md, "Softmax attention", "LSSA and LSSAR
// (softplus attention)", "Sigmoid attention"). Shapes: q, k, v, out are [heads, n, d]
// row-major (heads = batch × heads on the CPU side).
//
// One invocation per (head, query row). Keys are taken in blocks, one dispatch per block, and
// each row's running state (max m, sum z, max z of LSSAR, Σr, and the output accumulator)
// lives in `state` between dispatches: no invocation runs long (software rasterisers cap
// loop iterations, and real drivers time out long invocations), and nothing n×n exists.
//
// Stages (params.stage), dispatched in this order by `GpuContext::attention_forward`:
//   0 prepare   q', k' (l2-normalised for LSSA/LSSAR when asked), state reset
//   1 online    softmax / LSSA: running max, sum and rescaled accumulator over a key block
//   2 sigmoid   accumulate σ(s + b) v over a key block
//   3-6 LSSAR   3: max and sum of the LSSA softmax; 4: max of z = N·A − O; 5: Σ (z/max z)^p;
//               6: accumulate the final weights
//   7 finish    out = accumulator (÷ z for softmax and LSSA)

struct Params {
    heads: u32,
    n: u32,
    d: u32,
    causal: u32,
    // 0 softmax, 1 LSSA, 2 LSSAR, 3 sigmoid
    variant: u32,
    qk_norm: u32,
    // row scale of LSSA: 0 none, 1 1/sqrt(d), 2 ln d · ln N_i
    scale_kind: u32,
    stage: u32,
    key_start: u32,
    key_end: u32,
    p: f32,
    bias: f32,
}

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> qn: array<f32>;
@group(0) @binding(4) var<storage, read_write> kn: array<f32>;
// Per row: [m, z, z_max, r_sum, accumulator (d values)].
@group(0) @binding(5) var<storage, read_write> state: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
@group(0) @binding(7) var<uniform> params: Params;

const MAX_D: u32 = 256u;
const QK_NORM_EPS: f32 = 1e-12;
const LOWEST: f32 = -3.0e38;

// log(1 + x) without losing small x (Kahan's trick; WGSL has no log1p).
fn log1p(x: f32) -> f32 {
    let u = 1.0 + x;
    if (u == 1.0) {
        return x;
    }
    return log(u) * x / (u - 1.0);
}

fn softplus(x: f32) -> f32 {
    return max(x, 0.0) + log1p(exp(-abs(x)));
}

// ln(softplus(s)); below -15 it equals s to float precision (and log(0) is avoided).
fn log_softplus(s: f32) -> f32 {
    if (s < -15.0) {
        return s;
    }
    return log(softplus(s));
}

fn sigmoid(x: f32) -> f32 {
    if (x >= 0.0) {
        return 1.0 / (1.0 + exp(-x));
    }
    let e = exp(x);
    return e / (1.0 + e);
}

fn is_softplus() -> bool {
    return params.variant == 1u || params.variant == 2u;
}

// The row scale c_i of the scores.
fn row_scale(visible: u32) -> f32 {
    let df = f32(params.d);
    if (is_softplus()) {
        if (params.scale_kind == 0u) { return 1.0; }
        if (params.scale_kind == 2u) { return log(df) * log(f32(visible)); }
    }
    return 1.0 / sqrt(df);
}

// What the weights are a softmax of (softmax: s; LSSA: ln sp(s)), or the raw score (sigmoid).
fn score(qbase: u32, kbase: u32, c: f32) -> f32 {
    var dot = 0.0;
    for (var t = 0u; t < params.d; t++) {
        dot += qn[qbase + t] * kn[kbase + t];
    }
    if (is_softplus()) {
        return log_softplus(c * dot);
    }
    return c * dot;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let n = params.n;
    let d = params.d;
    if (id.x >= params.heads * n) {
        return;
    }
    let head = id.x / n;
    let i = id.x % n;
    let base = head * n * d;
    let row = base + i * d;
    let st = id.x * (d + 4u);

    if (params.stage == 0u) {
        var q_scale = 1.0;
        var k_scale = 1.0;
        if (is_softplus() && params.qk_norm == 1u) {
            var qq = 0.0;
            var kk = 0.0;
            for (var t = 0u; t < d; t++) {
                qq += q[row + t] * q[row + t];
                kk += k[row + t] * k[row + t];
            }
            q_scale = inverseSqrt(qq + QK_NORM_EPS);
            k_scale = inverseSqrt(kk + QK_NORM_EPS);
        }
        for (var t = 0u; t < d; t++) {
            qn[row + t] = q[row + t] * q_scale;
            kn[row + t] = k[row + t] * k_scale;
            state[st + 4u + t] = 0.0;
        }
        state[st] = LOWEST;
        state[st + 1u] = 0.0;
        state[st + 2u] = LOWEST;
        state[st + 3u] = 0.0;
        return;
    }

    var visible = n;
    if (params.causal == 1u) {
        visible = i + 1u;
    }
    let c = row_scale(visible);
    let nf = f32(visible);
    var offset = 1.0;
    if (i < 3u) { offset = 0.0; }
    var m = state[st];
    var z = state[st + 1u];
    var z_max = state[st + 2u];
    var r_sum = state[st + 3u];

    if (params.stage == 7u) {
        var norm = 1.0;
        if (params.variant <= 1u) { norm = 1.0 / z; }
        for (var t = 0u; t < d; t++) {
            out[row + t] = state[st + 4u + t] * norm;
        }
        return;
    }

    let end = min(params.key_end, visible);
    if (params.key_start >= end) {
        return;
    }
    var acc: array<f32, MAX_D>;
    let accumulates = params.stage == 1u || params.stage == 2u || params.stage == 6u;
    if (accumulates) {
        for (var t = 0u; t < d; t++) {
            acc[t] = state[st + 4u + t];
        }
    }
    for (var j = params.key_start; j < end; j++) {
        let kbase = base + j * d;
        let s = score(row, kbase, c);
        var w = 0.0;
        switch params.stage {
            case 1u: {
                if (s > m) {
                    let rescale = exp(m - s);
                    z *= rescale;
                    for (var t = 0u; t < d; t++) {
                        acc[t] *= rescale;
                    }
                    m = s;
                }
                w = exp(s - m);
                z += w;
            }
            case 2u: {
                w = sigmoid(s + params.bias);
            }
            case 3u: {
                let m_new = max(m, s);
                z = z * exp(m - m_new) + exp(s - m_new);
                m = m_new;
            }
            case 4u: {
                z_max = max(z_max, nf * exp(s - m) / z - offset);
            }
            case 5u: {
                if (z_max > 0.0) {
                    r_sum += pow(max(nf * exp(s - m) / z - offset, 0.0) / z_max, params.p);
                }
            }
            default: {
                // Stage 6: the LSSAR weight, or the LSSA weight when no z was positive.
                let a = exp(s - m) / z;
                w = a;
                if (z_max > 0.0) {
                    w = pow(max(nf * a - offset, 0.0) / z_max, params.p) / r_sum;
                }
            }
        }
        if (accumulates) {
            for (var t = 0u; t < d; t++) {
                acc[t] += w * v[kbase + t];
            }
        }
    }
    state[st] = m;
    state[st + 1u] = z;
    state[st + 2u] = z_max;
    state[st + 3u] = r_sum;
    if (accumulates) {
        for (var t = 0u; t < d; t++) {
            state[st + 4u + t] = acc[t];
        }
    }
}
