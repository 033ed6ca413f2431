// Row softmax over a [rows, cols] row-major matrix, in place: one invocation per row, the
// three passes of docs/MATH.md, "Softmax attention" (max, sum of e^(x - max), normalise). The
// same numbers as `softmax::softmax_rows_in_place` on the CPU, to float rounding.

struct Dims {
    rows: u32,
    cols: u32,
}

@group(0) @binding(0) var<storage, read_write> data: array<f32>;
@group(0) @binding(1) var<uniform> dims: Dims;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let row = id.x;
    if (row >= dims.rows) {
        return;
    }
    let start = row * dims.cols;
    var m = data[start];
    for (var j = 1u; j < dims.cols; j++) {
        m = max(m, data[start + j]);
    }
    var sum = 0.0;
    for (var j = 0u; j < dims.cols; j++) {
        sum += exp(data[start + j] - m);
    }
    let inv = 1.0 / sum;
    for (var j = 0u; j < dims.cols; j++) {
        data[start + j] = exp(data[start + j] - m) * inv;
    }
}
