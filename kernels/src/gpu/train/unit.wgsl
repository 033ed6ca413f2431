// The feed-forward unit, elementwise: ReLU, GELU (exact, x·Φ(x)), SiLU_β (x·σ(βx)) and squared
// ReLU on h [rows][F], or gated (SwiGLU g = SiLU_β, GeGLU g = GELU) on h = [a | b] [rows][2F]
// giving g(a)·b. The CPU's activation/ and mlp.rs.

struct Params {
    rows: u32,
    f: u32,
    // 0 ReLU, 1 GELU, 2 SiLU, 3 squared ReLU.
    kind: u32,
    gated: u32,
    h: u32,
    a: u32,
    da: u32,
    dh: u32,
    beta: f32,
    p0: u32,
    p1: u32,
    p2: u32,
    p3: u32,
    p4: u32,
    p5: u32,
    p6: u32,
}

@group(0) @binding(1) var<uniform> p: Params;

const INV_SQRT_2: f32 = 0.70710678;
const INV_SQRT_2PI: f32 = 0.39894228;

// erfc(|x|/√2) by Numerical Recipes' erfcc (relative error below 1.2e-7), as the CPU's GELU.
fn erfc_scaled(x: f32) -> f32 {
    let z = min(abs(x), 16.0) * INV_SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * z);
    let q = -1.2655122 + t * (1.0000237 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
        + t * (0.27886807 + t * (-1.135204 + t * (1.4885159 + t * (-0.82215223 + t * 0.17087277))))))));
    return t * exp(-0.5 * x * x + q);
}

// Φ(x), from erfc on the side where it is small.
fn normal_cdf(x: f32) -> f32 {
    let half_erfc = 0.5 * erfc_scaled(x);
    if (x < 0.0) {
        return half_erfc;
    }
    return 1.0 - half_erfc;
}

fn sigmoid(x: f32) -> f32 {
    if (x >= 0.0) {
        return 1.0 / (1.0 + exp(-x));
    }
    let e = exp(x);
    return e / (1.0 + e);
}

fn value(x: f32) -> f32 {
    switch p.kind {
        case 0u: {
            return max(x, 0.0);
        }
        case 1u: {
            return x * normal_cdf(x);
        }
        case 2u: {
            return x * sigmoid(p.beta * x);
        }
        default: {
            let r = max(x, 0.0);
            return r * r;
        }
    }
}

fn derivative(x: f32) -> f32 {
    switch p.kind {
        case 0u: {
            return select(0.0, 1.0, x > 0.0);
        }
        case 1u: {
            return normal_cdf(x) + x * INV_SQRT_2PI * exp(-0.5 * x * x);
        }
        case 2u: {
            let s = sigmoid(p.beta * x);
            return s * (1.0 + p.beta * x * (1.0 - s));
        }
        default: {
            return 2.0 * max(x, 0.0);
        }
    }
}

// a[r][j], one invocation per output element.
@compute @workgroup_size(256)
fn unit_forward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let e = flat_index(id, g);
    if (e >= p.rows * p.f) {
        return;
    }
    if (p.gated == 1u) {
        let r = e / p.f;
        let j = e % p.f;
        let base = p.h + r * 2u * p.f + j;
        mem[p.a + e] = value(mem[base]) * mem[base + p.f];
    } else {
        mem[p.a + e] = value(mem[p.h + e]);
    }
}

// dh from da (overwritten), one invocation per output element.
@compute @workgroup_size(256)
fn unit_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let e = flat_index(id, g);
    if (e >= p.rows * p.f) {
        return;
    }
    let d = mem[p.da + e];
    if (p.gated == 1u) {
        let r = e / p.f;
        let j = e % p.f;
        let at = r * 2u * p.f + j;
        let x = mem[p.h + at];
        mem[p.dh + at] = d * derivative(x) * mem[p.h + at + p.f];
        mem[p.dh + at + p.f] = d * value(x);
    } else {
        mem[p.dh + e] = d * derivative(mem[p.h + e]);
    }
}
