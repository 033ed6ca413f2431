"""Writes kernels/tests/fixtures/mlp.json: loss and gradients of a tiny MLP, float64 JAX.

Run from the repository root: python3 tools/gen_mlp_fixtures.py. The output is deterministic.

The model takes a scalar x per example (batch B). Every layer but the last is
h = act(W_l h + b_l), the last is linear with one output, prediction = W_last h + b_last;
W_l is [out, in], stored row-major. Loss = mean over the batch of (prediction - y)^2, and
grad_weights / grad_biases are its jax.grad with respect to every W_l and b_l. The activation
comes from tools/activation_reference.py: elementwise, except polynorm, which normalises the
hidden vector of each example (one row of [B, H]) over its H units.

Weights, biases, x and y are float32 values (stored as float64) so that the Rust side reads
exactly the numbers the reference used; everything else is float64. Weights follow
W_l[i][j] = 0.7 sin(1 + p + 7i + 3j + 11l) / sqrt(in), b_l[i] = 0.1 cos(2 + p + 5i + l) with
phase p = 0, raised by 0.5 for a case whose pre-activations come within 1e-6 of a kink of its
activation (0 for the relu family and elu, the spline knots for kan); the phase is stored.
"""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np

import activation_reference as ref
from gen_activation_fixtures import f32, floats, jparams, name, nonfinite

OUT = "kernels/tests/fixtures/mlp.json"
THIRD = [0.0, 1 / 3, 1 / 3, 1 / 3]
ACTIVATIONS = [
    ("relu", {}),
    ("silu", {"beta": 1.0}),
    ("gelu", {}),
    ("gelu_tanh", {}),
    ("tanh", {}),
    ("sigmoid", {}),
    ("mish", {}),
    ("softplus", {"beta": 1.0}),
    ("elu", {"alpha": 1.0}),
    ("squared_relu", {}),
    ("polyrelu", {"a": THIRD}),
    ("crrelu", {"eps": 0.01}),
    ("polynorm", {"a": THIRD}),
    ("rational", {"a": [0.03, 0.5, 0.9, 0.45, 0.1, 0.007], "b": [0.0, 2.4, 0.0, 0.7]}),
    ("kan", {"w_b": 1.0, "w_s": 1.0, "c": [0.2, -0.5, 1.0, 0.3, -0.8, 0.6, -0.1, 0.4]}),
]
WIDTHS = [[1, 8, 1], [1, 6, 5, 1]]
KINKS = {f: [0.0] for f in ("relu", "squared_relu", "polyrelu", "crrelu", "elu")}
KINKS["kan"] = list(ref.KAN_KNOTS)
X = f32(np.linspace(-3, 3, 17))
TARGETS = {"sin(2x)": f32(np.sin(2 * X)), "|x|": f32(np.abs(X))}


def activation(function, params):
    """[B, H] -> [B, H]."""
    p = jparams(params)
    if function == "polynorm":
        return lambda h: ref.polynorm(h, p["a"])
    return jnp.vectorize(lambda z: ref.ELEMENTWISE[function](z, **p))


def init(widths, phase):
    ws, bs = [], []
    for l, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        i, j = np.arange(n_out)[:, None], np.arange(n_in)[None, :]
        ws.append(f32(0.7 * np.sin(1 + phase + 7 * i + 3 * j + 11 * l) / np.sqrt(n_in)))
        bs.append(f32(0.1 * np.cos(2 + phase + 5 * np.arange(n_out) + l)))
    return ws, bs


def forward(act, ws, bs, x):
    """Prediction [B] and the pre-activations of every hidden layer."""
    h, pre = x[:, None], []
    for w, b in zip(ws[:-1], bs[:-1]):
        pre.append(h @ w.T + b)
        h = act(pre[-1])
    return (h @ ws[-1].T + bs[-1])[:, 0], pre


def case(function, params, widths, target):
    act, y = activation(function, params), TARGETS[target]
    for phase in np.arange(20) * 0.5:
        ws, bs = init(widths, phase)
        _, pre = forward(act, ws, bs, X)
        z = np.concatenate([np.ravel(p) for p in pre])
        if all(np.min(np.abs(z - k)) > 1e-6 for k in KINKS.get(function, [])):
            break
    else:
        raise AssertionError((function, widths, "every phase lands on a kink"))
    if phase:
        print(f"{function} {widths}: phase {phase} (phase 0 puts a pre-activation on a kink)")

    def loss(ws, bs):
        return jnp.mean((forward(act, ws, bs, X)[0] - y) ** 2)

    value, (gw, gb) = jax.value_and_grad(loss, (0, 1))(ws, bs)
    check_finite_difference(loss, ws, bs, gw, gb, (function, widths))
    return {
        "name": f"{name(function, params)}/{'-'.join(map(str, widths))}/y={target}",
        "activation": {"function": function, "params": params},
        "widths": widths,
        "phase": float(phase),
        "weights": [floats(np.ravel(w)) for w in ws],
        "biases": [floats(b) for b in bs],
        "x": floats(X),
        "y": floats(y),
        "loss": float(value),
        "grad_weights": [floats(np.ravel(g)) for g in gw],
        "grad_biases": [floats(g) for g in gb],
        "prediction": floats(forward(act, ws, bs, X)[0]),
    }


def check_finite_difference(loss, ws, bs, gw, gb, what, step=1e-7):
    # Along one fixed random direction; the step moves no pre-activation across a kink.
    rng = np.random.RandomState(0)
    dw, db = [rng.normal(size=w.shape) for w in ws], [rng.normal(size=b.shape) for b in bs]
    at = lambda s: loss([w + s * d for w, d in zip(ws, dw)], [b + s * d for b, d in zip(bs, db)])
    fd = (at(step) - at(-step)) / (2 * step)
    exact = sum(np.sum(g * d) for g, d in zip(gw + gb, dw + db))
    assert abs(fd - exact) < 1e-6 * max(1.0, abs(exact)), (what, fd, exact)


def main():
    cases = [
        case(f, p, w, list(TARGETS)[(a + k) % 2])
        for a, (f, p) in enumerate(ACTIVATIONS)
        for k, w in enumerate(WIDTHS)
    ]
    bad = [p for c in cases for p in nonfinite(c, c["name"])]
    assert not bad, bad[:20]
    line = lambda v: json.dumps(v, allow_nan=False, separators=(",", ":"))
    with open(OUT, "w") as f:
        f.write('{"generator":"tools/gen_mlp_fixtures.py","format":1,"cases":[\n')
        f.write(",\n".join(line(c) for c in cases) + "\n]}\n")
    print(f"{len(cases)} cases, {os.path.getsize(OUT)} bytes")


if __name__ == "__main__":
    main()
