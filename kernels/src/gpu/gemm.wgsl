// One matrix product for the transformer's linear layers and logits:
// c[r][j] = (accumulate ? c[r][j] : 0) + bias[j] + resid[r][j] + Σ_{p in [k0, k1)} a(r, p)·b(p, j),
// with a(r, p) = a[r·a_row + p·a_col] and b(p, j) = b[p·b_row + j·b_col], so that inpᵀ and wᵀ
// of the backward are read in place (kernels/src/model/matmul.rs does the same on the CPU);
// the bias and the residual are optional (NONE). Every tensor is an element offset into one
// buffer (see train/common.wgsl). docs/MATH.md, “The transformer”.
//
// A 16 × 16 workgroup computes a 16 × 16 tile of c, walking the reduction in tiles of 16
// that the workgroup loads into shared memory. An invocation runs about (k1 − k0) · 17/16
// loop iterations: the host splits long reductions into dispatches that accumulate.

struct Params {
    m: u32,
    n: u32,
    k0: u32,
    k1: u32,
    a_row: u32,
    a_col: u32,
    b_row: u32,
    b_col: u32,
    a: u32,
    b: u32,
    c: u32,
    bias: u32,
    resid: u32,
    accumulate: u32,
    p0: u32,
    p1: u32,
}

@group(0) @binding(1) var<uniform> p: Params;

const T: u32 = 16u;
var<workgroup> ta: array<array<f32, 16>, 16>;
var<workgroup> tb: array<array<f32, 16>, 16>;

@compute @workgroup_size(16, 16)
fn gemm(@builtin(local_invocation_id) l: vec3<u32>, @builtin(workgroup_id) g: vec3<u32>) {
    let r = g.y * T + l.y;
    let j = g.x * T + l.x;
    var acc = 0.0;
    for (var t = p.k0; t < p.k1; t = t + T) {
        let pa = t + l.x;
        var va = 0.0;
        if (r < p.m && pa < p.k1) {
            va = mem[p.a + r * p.a_row + pa * p.a_col];
        }
        ta[l.y][l.x] = va;
        let pb = t + l.y;
        var vb = 0.0;
        if (pb < p.k1 && j < p.n) {
            vb = mem[p.b + pb * p.b_row + j * p.b_col];
        }
        tb[l.y][l.x] = vb;
        workgroupBarrier();
        for (var q = 0u; q < T; q = q + 1u) {
            acc = acc + ta[l.y][q] * tb[q][l.x];
        }
        workgroupBarrier();
    }
    if (r < p.m && j < p.n) {
        let i = p.c + r * p.n + j;
        if (p.bias != NONE) {
            acc = acc + mem[p.bias + j];
        }
        if (p.resid != NONE) {
            acc = acc + mem[p.resid + r * p.n + j];
        }
        if (p.accumulate == 1u) {
            acc = mem[i] + acc;
        }
        mem[i] = acc;
    }
}
