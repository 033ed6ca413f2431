// Shared by every training kernel: the run's whole memory is one f32 buffer (parameters,
// gradients, Adam moments, activations, the step's tokens and scalars, the loss ring), each
// tensor an element offset into it that the host passes in the kernel's parameters. Tokens
// and integer scalars are stored as f32 values (exact below 2²⁴), a missing target as −1.
// docs/ARCHITECTURE.md, "The GPU training step".

@group(0) @binding(0) var<storage, read_write> mem: array<f32>;

// "No such tensor" (an absent bias, no learned positions) and "no target".
const NONE: u32 = 0xffffffffu;

// The step's scalars, at `scalars + …` (written by the host before each step, except NORM
// and SCALE, which the optimiser's reduction writes).
const S_LR: u32 = 0u;
const S_C1: u32 = 1u;
const S_C2: u32 = 2u;
const S_COUNT: u32 = 3u;
const S_STEP: u32 = 4u;
const S_SLOT: u32 = 5u;
const S_NORM: u32 = 6u;
const S_SCALE: u32 = 7u;
const S_LOSS: u32 = 8u;

// The integer stored at i (a token, a step); NONE for a negative value (no target).
fn int_at(i: u32) -> u32 {
    let x = mem[i];
    if (x < 0.0) {
        return NONE;
    }
    return u32(x);
}

// The flat index of an invocation of a 2-D grid of 256-wide workgroups (the host spreads more
// than 65,535 workgroups over y).
fn flat_index(id: vec3<u32>, groups: vec3<u32>) -> u32 {
    return id.x + id.y * groups.x * 256u;
}

// Finite without relying on NaN comparisons (WGSL lets a compiler assume there are none).
fn is_finite(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}
