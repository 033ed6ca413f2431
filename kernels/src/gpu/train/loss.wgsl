// Cross-entropy over the positions with a target. The CPU's model/output.rs: the softmax of
// each row of logits (in place, max subtracted first), −ln max(p_target, f32::MIN_POSITIVE),
// their mean over the counted positions into the loss ring, and
// dlogits = (p − onehot)/count (0 for a row with no target), in place of p.

struct Params {
    rows: u32,
    v: u32,
    logits: u32,
    targets: u32,
    row_loss: u32,
    scalars: u32,
    ring: u32,
    p0: u32,
    p1: u32,
    p2: u32,
    p3: u32,
    p4: u32,
    p5: u32,
    p6: u32,
    p7: u32,
    p8: u32,
}

@group(0) @binding(1) var<uniform> p: Params;

const MIN_POSITIVE: f32 = 1.17549435e-38;

// One invocation per row.
@compute @workgroup_size(64)
fn loss_rows(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let r = id.x + id.y * g.x * 64u;
    if (r >= p.rows) {
        return;
    }
    let row = p.logits + r * p.v;
    var m = -3.4e38;
    for (var j = 0u; j < p.v; j = j + 1u) {
        m = max(m, mem[row + j]);
    }
    var sum = 0.0;
    for (var j = 0u; j < p.v; j = j + 1u) {
        let e = exp(mem[row + j] - m);
        mem[row + j] = e;
        sum = sum + e;
    }
    for (var j = 0u; j < p.v; j = j + 1u) {
        mem[row + j] = mem[row + j] / sum;
    }
    let y = int_at(p.targets + r);
    var loss = 0.0;
    if (y != NONE) {
        loss = -log(max(mem[row + y], MIN_POSITIVE));
    }
    mem[p.row_loss + r] = loss;
}

var<workgroup> partial: array<f32, 256>;

// The mean loss into ring[slot]: one workgroup.
@compute @workgroup_size(256)
fn loss_sum(@builtin(local_invocation_id) l: vec3<u32>) {
    var s = 0.0;
    for (var r = l.x; r < p.rows; r = r + 256u) {
        s = s + mem[p.row_loss + r];
    }
    partial[l.x] = s;
    workgroupBarrier();
    for (var half_n = 128u; half_n > 0u; half_n = half_n / 2u) {
        if (l.x < half_n) {
            partial[l.x] = partial[l.x] + partial[l.x + half_n];
        }
        workgroupBarrier();
    }
    if (l.x == 0u) {
        let loss = partial[0] / mem[p.scalars + S_COUNT];
        mem[p.ring + int_at(p.scalars + S_SLOT)] = loss;
        mem[p.scalars + S_LOSS] = loss;
    }
}

// dlogits in place of the probabilities, one invocation per element.
@compute @workgroup_size(256)
fn loss_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let e = flat_index(id, g);
    if (e >= p.rows * p.v) {
        return;
    }
    let r = e / p.v;
    let y = int_at(p.targets + r);
    if (y == NONE) {
        mem[p.logits + e] = 0.0;
        return;
    }
    var hot = 0.0;
    if (e % p.v == y) {
        hot = 1.0;
    }
    mem[p.logits + e] = (mem[p.logits + e] - hot) / mem[p.scalars + S_COUNT];
}
