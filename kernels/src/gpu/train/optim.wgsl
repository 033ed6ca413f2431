// The end of a step: the finiteness checks, the global gradient norm (clipping) and AdamW.
// The CPU's model/train.rs: grads scaled by min(1, clip/‖g‖), then
// m = β₁m + (1−β₁)g, v = β₂v + (1−β₂)g², p −= lr·(m̂/(√v̂ + ε) + λp).
//
// flags[0] is the first place (in forward order, then by gradient index) where a NaN or an
// infinity appeared, flags[1] the step it appeared at; both NONE while everything is finite.
// Once set, the update is skipped for good: the parameters stay those before that step.

struct Params {
    at: u32,
    len: u32,
    // The place code (checks) or the partial sums' offset (norm).
    code: u32,
    // Checks: whether the code counts on by index (gradients). Norm: values per invocation.
    indexed: u32,
    scalars: u32,
    partials: u32,
    groups: u32,
    m: u32,
    v: u32,
    grads: u32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
    clip: f32,
    p0: u32,
}

@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read_write> flags: array<atomic<u32>>;

@compute @workgroup_size(256)
fn check(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let e = flat_index(id, g);
    if (e >= p.len || is_finite(mem[p.at + e])) {
        return;
    }
    let step = int_at(p.scalars + S_STEP);
    let before = atomicMin(&flags[1], step);
    if (before >= step) {
        var code = p.code;
        if (p.indexed == 1u) {
            code = code + e;
        }
        atomicMin(&flags[0], code);
    }
}

var<workgroup> partial: array<f32, 256>;

fn reduce(l: u32) {
    workgroupBarrier();
    for (var half_n = 128u; half_n > 0u; half_n = half_n / 2u) {
        if (l < half_n) {
            partial[l] = partial[l] + partial[l + half_n];
        }
        workgroupBarrier();
    }
}

// Workgroup w sums the squares of values [w·256·indexed, (w + 1)·256·indexed) into partials[w].
@compute @workgroup_size(256)
fn norm_partial(@builtin(local_invocation_id) l: vec3<u32>, @builtin(workgroup_id) w: vec3<u32>) {
    let start = w.x * 256u * p.indexed;
    let end = min(start + 256u * p.indexed, p.len);
    var s = 0.0;
    for (var e = start + l.x; e < end; e = e + 256u) {
        let x = mem[p.at + e];
        s = s + x * x;
    }
    partial[l.x] = s;
    reduce(l.x);
    if (l.x == 0u) {
        mem[p.partials + w.x] = partial[0];
    }
}

// One workgroup: the norm and the clip scale into the scalars.
@compute @workgroup_size(256)
fn norm_finish(@builtin(local_invocation_id) l: vec3<u32>) {
    var s = 0.0;
    for (var e = l.x; e < p.groups; e = e + 256u) {
        s = s + mem[p.partials + e];
    }
    partial[l.x] = s;
    reduce(l.x);
    if (l.x == 0u) {
        let norm = sqrt(partial[0]);
        var scale = 1.0;
        if (p.clip > 0.0 && norm > p.clip) {
            scale = p.clip / norm;
        }
        mem[p.scalars + S_NORM] = norm;
        mem[p.scalars + S_SCALE] = scale;
    }
}

@compute @workgroup_size(256)
fn adamw(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let e = flat_index(id, g);
    if (e >= p.len || atomicLoad(&flags[1]) != NONE) {
        return;
    }
    let gr = mem[p.grads + e] * mem[p.scalars + S_SCALE];
    let m = p.beta1 * mem[p.m + e] + (1.0 - p.beta1) * gr;
    let v = p.beta2 * mem[p.v + e] + (1.0 - p.beta2) * gr * gr;
    mem[p.m + e] = m;
    mem[p.v + e] = v;
    let mh = m / mem[p.scalars + S_C1];
    let vh = v / mem[p.scalars + S_C2];
    let w = mem[p.at + e];
    mem[p.at + e] = w - mem[p.scalars + S_LR] * (mh / (sqrt(vh) + p.eps) + p.weight_decay * w);
}
