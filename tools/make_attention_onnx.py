"""Writes the ONNX models that `cargo xtask bench attention` runs in onnxruntime-web.

Causal attention of one head with fixed shapes, the same math as the Rust kernels:
    out = Softmax(Gemm(q, k, alpha=1/sqrt(d), transB=1) + mask) @ v
where mask[i, j] = 0 for j <= i and -1e9 above the diagonal (an initializer).
Inputs q, k, v and the output `out` are float32 [n, d]; opset 17.

    python3 tools/make_attention_onnx.py OUT_DIR N [N ...] [--d 64]

writes OUT_DIR/attention_n{N}_d{d}.onnx for each N.
"""

import argparse
import math
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def attention_model(n: int, d: int) -> onnx.ModelProto:
    mask = np.triu(np.full((n, n), -1e9, dtype=np.float32), k=1)
    io = lambda name: helper.make_tensor_value_info(name, TensorProto.FLOAT, [n, d])  # noqa: E731
    nodes = [
        helper.make_node("Gemm", ["q", "k"], ["scores"], alpha=1.0 / math.sqrt(d), transB=1),
        helper.make_node("Add", ["scores", "mask"], ["masked"]),
        helper.make_node("Softmax", ["masked"], ["weights"], axis=-1),
        helper.make_node("MatMul", ["weights", "v"], ["out"]),
    ]
    graph = helper.make_graph(
        nodes,
        f"causal_attention_n{n}_d{d}",
        [io("q"), io("k"), io("v")],
        [io("out")],
        initializer=[numpy_helper.from_array(mask, "mask")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="softplay")
    model.ir_version = 8  # what opset 17 came with; onnxruntime-web reads it
    onnx.checker.check_model(model)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("n", type=int, nargs="+")
    parser.add_argument("--d", type=int, default=64)
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    for n in args.n:
        path = os.path.join(args.out_dir, f"attention_n{n}_d{args.d}.onnx")
        onnx.save(attention_model(n, args.d), path)
        print(f"    wrote {path} ({os.path.getsize(path):,} bytes)")


if __name__ == "__main__":
    main()
