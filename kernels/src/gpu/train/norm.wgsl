// RMSNorm and LayerNorm over rows of C, forward and backward. The CPU's model/norm.rs:
// LayerNorm y = (x − μ)·rstd·g + b, RMSNorm y = x·rstd·g, rstd = 1/√(mean square + 1e-5);
// stats[2r] = μ (0 for RMSNorm), stats[2r + 1] = rstd.

struct Params {
    rows: u32,
    c: u32,
    // 0: RMSNorm, 1: LayerNorm.
    layer: u32,
    x: u32,
    y: u32,
    g: u32,
    b: u32,
    stats: u32,
    dy: u32,
    dx: u32,
    dg: u32,
    db: u32,
    accumulate: u32,
    p0: u32,
    p1: u32,
    p2: u32,
}

@group(0) @binding(1) var<uniform> p: Params;

const EPS: f32 = 1e-5;

// One invocation per row.
@compute @workgroup_size(64)
fn norm_forward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let r = id.x + id.y * g.x * 64u;
    if (r >= p.rows) {
        return;
    }
    let row = p.x + r * p.c;
    var mu = 0.0;
    if (p.layer == 1u) {
        for (var i = 0u; i < p.c; i = i + 1u) {
            mu = mu + mem[row + i];
        }
        mu = mu / f32(p.c);
    }
    var ms = 0.0;
    for (var i = 0u; i < p.c; i = i + 1u) {
        let d = mem[row + i] - mu;
        ms = ms + d * d;
    }
    ms = ms / f32(p.c);
    let s = 1.0 / sqrt(ms + EPS);
    mem[p.stats + 2u * r] = mu;
    mem[p.stats + 2u * r + 1u] = s;
    for (var i = 0u; i < p.c; i = i + 1u) {
        var v = (mem[row + i] - mu) * s * mem[p.g + i];
        if (p.layer == 1u) {
            v = v + mem[p.b + i];
        }
        mem[p.y + r * p.c + i] = v;
    }
}

// dx[r] (+)= rstd·(dy·g − mean(dy·g) − x̂·mean(dy·g·x̂)) (no mean(dy·g) for RMSNorm); one
// invocation per row.
@compute @workgroup_size(64)
fn norm_backward_input(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let r = id.x + id.y * g.x * 64u;
    if (r >= p.rows) {
        return;
    }
    let mu = mem[p.stats + 2u * r];
    let s = mem[p.stats + 2u * r + 1u];
    let row = r * p.c;
    var mean_d = 0.0;
    var mean_dx = 0.0;
    for (var i = 0u; i < p.c; i = i + 1u) {
        let dn = mem[p.dy + row + i] * mem[p.g + i];
        mean_d = mean_d + dn;
        mean_dx = mean_dx + dn * (mem[p.x + row + i] - mu) * s;
    }
    mean_d = mean_d / f32(p.c);
    mean_dx = mean_dx / f32(p.c);
    if (p.layer == 0u) {
        mean_d = 0.0;
    }
    for (var i = 0u; i < p.c; i = i + 1u) {
        let xh = (mem[p.x + row + i] - mu) * s;
        var v = s * (mem[p.dy + row + i] * mem[p.g + i] - mean_d - xh * mean_dx);
        if (p.accumulate == 1u) {
            v = mem[p.dx + row + i] + v;
        }
        mem[p.dx + row + i] = v;
    }
}

// dg[i] = Σ_r dy[r][i]·x̂[r][i], db[i] = Σ_r dy[r][i]; one invocation per channel.
@compute @workgroup_size(64)
fn norm_backward_params(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    if (i >= p.c) {
        return;
    }
    var dg = 0.0;
    var db = 0.0;
    for (var r = 0u; r < p.rows; r = r + 1u) {
        let d = mem[p.dy + r * p.c + i];
        let xh = (mem[p.x + r * p.c + i] - mem[p.stats + 2u * r]) * mem[p.stats + 2u * r + 1u];
        dg = dg + d * xh;
        db = db + d;
    }
    mem[p.dg + i] = dg;
    if (p.layer == 1u) {
        mem[p.db + i] = db;
    }
}
