// The embedding: x[r] = wte[tokens[r]] (+ wpe[r mod T]), and back: dwte[v] (+)= Σ_{r: tokens[r] = v} dx[r],
// dwpe[t] = Σ_b dx[b·T + t], each sum over rows in order (no atomics: one invocation per
// output element). The CPU's model/embedding.rs.

struct Params {
    rows: u32,
    c: u32,
    t: u32,
    vocab: u32,
    x: u32,
    tokens: u32,
    wte: u32,
    wpe: u32,
    batch: u32,
    accumulate: u32,
    p0: u32,
    p1: u32,
    p2: u32,
    p3: u32,
    p4: u32,
    p5: u32,
}

@group(0) @binding(1) var<uniform> p: Params;

// x[r][i], one invocation per element.
@compute @workgroup_size(256)
fn embed_forward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let e = flat_index(id, g);
    if (e >= p.rows * p.c) {
        return;
    }
    let r = e / p.c;
    let i = e % p.c;
    var v = mem[p.wte + int_at(p.tokens + r) * p.c + i];
    if (p.wpe != NONE) {
        v = v + mem[p.wpe + (r % p.t) * p.c + i];
    }
    mem[p.x + e] = v;
}

// dwte[v][i] from dx (at `x`), one invocation per element of dwte (at `wte`).
@compute @workgroup_size(256)
fn embed_backward_tokens(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let e = flat_index(id, g);
    if (e >= p.vocab * p.c) {
        return;
    }
    let v = e / p.c;
    let i = e % p.c;
    var acc = 0.0;
    for (var r = 0u; r < p.rows; r = r + 1u) {
        if (int_at(p.tokens + r) == v) {
            acc = acc + mem[p.x + r * p.c + i];
        }
    }
    if (p.accumulate == 1u) {
        acc = mem[p.wte + e] + acc;
    }
    mem[p.wte + e] = acc;
}

// dwpe[t][i] from dx (at `x`), one invocation per element of the first T rows of dwpe (at `wpe`).
@compute @workgroup_size(256)
fn embed_backward_positions(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let e = flat_index(id, g);
    if (e >= p.t * p.c) {
        return;
    }
    let pos = e / p.c;
    let i = e % p.c;
    var acc = 0.0;
    for (var b = 0u; b < p.batch; b = b + 1u) {
        acc = acc + mem[p.x + (b * p.t + pos) * p.c + i];
    }
    mem[p.wpe + e] = acc;
}
