"""Writes kernels/tests/fixtures/activations.json from tools/activation_reference.py.

Run from the repository root: python3 tools/gen_activation_fixtures.py. The output is
deterministic. Inputs are float32 values (stored as float64) so that the Rust kernels see
exactly the points the reference saw; every output is float64. A vector parameter's
derivatives are stored one array per component, under a0, a1, ... (b1..b4 for rational's
b, numbered as in Q(x) = 1 + sum_k |b_k| |x|^k).
"""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np

import activation_reference as ref

OUT = "kernels/tests/fixtures/activations.json"
EXTREMES = [-100, -89, -88, -50, -30, -20, -10, 10, 20, 30, 50, 88, 89, 100, -1e-3, 1e-3]

ELEMENTWISE_CASES = [
    ("relu", {}),
    ("leaky_relu", {"alpha": 0.01}),
    ("leaky_relu", {"alpha": 0.2}),
    ("elu", {"alpha": 1.0}),
    ("elu", {"alpha": 0.5}),
    ("gelu", {}),
    ("gelu_tanh", {}),
    ("silu", {"beta": 1.0}),
    ("silu", {"beta": 1.7}),
    ("softplus", {"beta": 1.0}),
    ("softplus", {"beta": 5.0}),
    ("mish", {}),
    ("sigmoid", {}),
    ("tanh", {}),
    ("squared_relu", {}),
    ("polyrelu", {"a": [0.0, 1 / 3, 1 / 3, 1 / 3]}),
    ("polyrelu", {"a": [0.1, 1.0, -0.5, 0.2]}),
    ("crrelu", {"eps": 0.01}),
    ("crrelu", {"eps": 0.5}),
    ("rational", {"a": [0.03, 0.5, 0.9, 0.45, 0.1, 0.007], "b": [0.0, 2.4, 0.0, 0.7]}),
    # Nonzero b1 (a kink at 0) and a negative b2, so that |b_k| matters.
    ("rational", {"a": [0.0, 1.0, 0.5, 0.1, -0.02, 0.003], "b": [0.8, -0.5, 0.3, 0.05]}),
    ("kan", {"w_b": 1.0, "w_s": 1.0, "c": [0.2, -0.5, 1.0, 0.3, -0.8, 0.6, -0.1, 0.4]}),
    ("kan", {"w_b": 0.5, "w_s": 2.0, "c": [-0.3, 0.8, -1.0, 0.5, 0.0, -0.6, 0.9, -0.2]}),
]
TWO_INPUT_CASES = [("swiglu", {"beta": 1.0}), ("swiglu", {"beta": 1.7}), ("geglu", {})]
POLYNORM_PARAMS = [[0.0, 1 / 3, 1 / 3, 1 / 3], [0.2, 1.0, -0.5, 0.25]]


def kink_at_zero(function, params):
    """Whether x = 0 is left out: a kink at 0 where JAX's f'(0) is not 0 (relu'(0) = 0 is kept)."""
    if function == "rational":
        return params["b"][0] != 0  # |b1| |x| is the only non-smooth term at 0
    return function in ("leaky_relu", "elu", "crrelu")


def f32(values):
    return np.asarray(values, np.float32).astype(np.float64)


def grid():
    return np.unique(f32(np.concatenate([np.linspace(-6, 6, 241), EXTREMES])))


def name(function, params):
    fmt = lambda v: f"({','.join(f'{u:g}' for u in v)})" if isinstance(v, list) else f"{v:g}"
    settings = ",".join(f"{k}={fmt(v)}" for k, v in params.items())
    return f"{function}/{settings}" if settings else function


def floats(a):
    return np.asarray(a, np.float64).tolist()


def per_param(grads):
    """{name: [n]} for scalar parameters, {a0: [n], a1: [n], ...} for vector ones ([n, p])."""
    out = {}
    for k, g in grads.items():
        if g.ndim == 1:
            out[k] = floats(g)
        for i in range(g.shape[1] if g.ndim == 2 else 0):
            out[f"{k}{i + (k == 'b')}"] = floats(g[:, i])
    return out


def jparams(params):
    return {k: jnp.asarray(v, jnp.float64) for k, v in params.items()}


def elementwise_case(function, params):
    x = grid()
    kink = kink_at_zero(function, params)
    if kink:
        x = x[x != 0]
    f = lambda x, p: ref.ELEMENTWISE[function](x, **p)
    p = jparams(params)
    fx = jax.vmap(f, (0, None))(x, p)
    dx, dp = jax.vmap(jax.grad(f, (0, 1)), (0, None))(x, p)
    check_finite_difference(lambda x: jax.vmap(f, (0, None))(x, p), x, dx, function)
    if not kink and 0 in x and function in ("relu", "squared_relu", "polyrelu"):
        assert dx[x == 0][0] == 0, (function, "relu'(0) = 0")
    return {
        "name": name(function, params),
        "function": function,
        "params": params,
        "kink_at_zero": bool(kink),
        "x": floats(x),
        "f": floats(fx),
        "df_dx": floats(dx),
        "df_dparams": per_param(dp),
    }


def two_input_case(function, params):
    a = grid()
    b = f32(a[::-1] * 0.5)
    f = lambda a, b, p: ref.TWO_INPUT[function](a, b, **p)
    p = jparams(params)
    fx = jax.vmap(f, (0, 0, None))(a, b, p)
    da, db, dp = jax.vmap(jax.grad(f, (0, 1, 2)), (0, 0, None))(a, b, p)
    return {
        "name": name(function, params),
        "function": function,
        "params": params,
        "kink_at_zero": False,
        "a": floats(a),
        "b": floats(b),
        "f": floats(fx),
        "df_da": floats(da),
        "df_db": floats(db),
        "df_dparams": per_param(dp),
    }


def polynorm_case(a, rows=6, h=16):
    x = np.random.RandomState(0).normal(size=(rows, h)) * 2
    x[2] = 0  # rms of an all-zero row: 0 / sqrt(1e-6)
    x[4] *= 100 / np.max(np.abs(x[4]))  # x^3 reaches 1e6, its mean square 1e12
    x = f32(x)
    cot = f32(np.random.RandomState(1).normal(size=(rows, h)) * 2)
    out, pull = jax.vjp(ref.polynorm, jnp.asarray(x), jnp.asarray(a, jnp.float64))
    dx, da = pull(jnp.asarray(cot))
    return {
        "name": name("polynorm", {"a": a}),
        "function": "polynorm",
        "params": {"a": a},
        "rows": rows,
        "h": h,
        "x": floats(x.ravel()),
        "f": floats(np.ravel(out)),
        "cotangent": floats(cot.ravel()),
        "dx": floats(np.ravel(dx)),
        "dparams": {"a": floats(da)},
    }


def check_finite_difference(f, x, dx, function, step=1e-6):
    # Central differences where they are meaningful: inside [-6, 6] and off the kink at 0.
    keep = (np.abs(x) <= 6) & (x != 0)
    fd = (np.asarray(f(x + step)) - np.asarray(f(x - step))) / (2 * step)
    err = np.max(np.abs(fd - np.asarray(dx))[keep])
    assert err < 1e-6 * max(1.0, np.max(np.abs(dx)[keep])), (function, err)


def check_bsplines():
    # Partition of unity on [t_3, t_8) = [-1, 1): the 8 cubic bases sum to 1 there.
    for x in np.linspace(-1, 1, 41)[:-1]:
        assert abs(float(jnp.sum(ref.bsplines(x))) - 1) < 1e-12, x
    assert len(ref.KAN_KNOTS) == 12 and len(ref.bsplines(0.0)) == 8


def nonfinite(value, path):
    """Paths of the non-finite floats in a nested case."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in nonfinite(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in nonfinite(v, f"{path}[{i}]")]
    return [path] if isinstance(value, float) and not np.isfinite(value) else []


def main():
    check_bsplines()
    cases = [elementwise_case(*c) for c in ELEMENTWISE_CASES]
    cases += [two_input_case(*c) for c in TWO_INPUT_CASES]
    cases += [polynorm_case(a) for a in POLYNORM_PARAMS]
    bad = [p for c in cases for p in nonfinite(c, c["name"])]
    assert not bad, bad[:20]
    # One case a line: diffs stay readable without indenting 30 000 numbers.
    line = lambda v: json.dumps(v, allow_nan=False, separators=(",", ":"))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write('{"generator":"tools/gen_activation_fixtures.py","format":1,"cases":[\n')
        f.write(",\n".join(line(c) for c in cases) + "\n]}\n")
    points = sum(len(c["x"] if "x" in c else c["a"]) for c in cases)
    print(f"{len(cases)} cases, {points} points, {os.path.getsize(OUT)} bytes")


if __name__ == "__main__":
    main()
