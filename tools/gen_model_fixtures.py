"""Writes kernels/tests/fixtures/model.json: loss, logits and the gradient with respect to every
parameter of the Model lab's transformer, from tools/model_reference.py (float64 JAX).

Run from the repository root: python3 tools/gen_model_fixtures.py. The output is deterministic.

Each case is one fixed config (its fields named as in `Config`: the attention variant named as
in tools/attention_reference.py's VARIANTS, with the softmax algorithm the kernel should run and
sigmoid's bias, null for the default -ln T; the feed-forward unit, norm and positions as
model_reference.py describes them), B sequences of T tokens, the flat parameter vector in the
order of `Config::tensors` (the tensors are stored too, [name, shape, offset, length] each, to
check against the kernel's), tokens and targets [B * T] (-1 for IGNORE, u32::MAX on the Rust
side), the loss, the logits [B, T, V] and the gradient (flat, same layout), each to ten
significant digits.

Parameters are multiples of 2^-10 (exact in float32, and short in JSON), so the Rust side reads
exactly the numbers the reference used; so are the units' parameters and sigmoid's fixed bias
(a float32 value). The i-th entry of the flat vector is
round(1024 * 0.5 sin(1 + ph + 0.37 i + 0.0123 i^2)) / 1024, or round(1024 (1 + 0.1 cos(i))) / 1024
for the norms' gains; the quadratic term keeps the matrices from being rank 2 (as sin of a
linear function of the flat index would make them). The phase ph = 0 is raised by 0.5 while a
pre-activation of a unit with a kink at 0 (ReLU, CRReLU) lies within 1e-4 of it (the float32
kernel could land on the other side); the phase is stored. Each gradient is also checked here
against a central difference along a fixed random direction.
"""

import json
import math
import os

import jax.numpy as jnp
import numpy as np

import model_reference as ref

OUT = "kernels/tests/fixtures/model.json"
MAX_BYTES = 200_000
KINK_MARGIN = 1e-4
KINKED = {"relu", "crrelu"}
B = 2
LSSA = "lssa:qknorm=0:scale=invsqrtd"
LSSA_DEFAULT = "lssa:qknorm=1:scale=lndlnn"
LSSAR = "lssar:p=15"


def each(function, **params):
    return {"kind": "each", "function": function, "params": params}


def gated(gate, **params):
    return {"kind": "gated", "gate": gate, "params": params}


def f32(x):
    return float(np.float32(x))


# A fixed sigmoid bias that is not the default -ln T of its case (T = 5).
SIGMOID_BIAS = f32(-math.log(6))

CASES = [
    # name, attention, softmax algorithm, sigmoid bias, unit, norm, positions, tied, layers,
    # vocab, T, max_len
    ("softmax-gelu-learned-untied", "softmax", "three_pass", None, each("gelu"), "rms", "learned", False, 1, 7, 6, 6),
    ("sigmoid-relu-nope-tied", "sigmoid", None, None, each("relu"), "rms", "none", True, 1, 7, 5, 5),
    ("lssa-silu-learned-tied", LSSA, None, None, each("silu", beta=1.0), "rms", "learned", True, 1, 7, 5, 6),
    ("2layers-softmax-online-relu-learned-untied", "softmax", "online", None, each("relu"), "rms", "learned", False, 2, 7, 6, 6),
    ("2layers-sigmoid-silu-nope-untied", "sigmoid", None, None, each("silu", beta=1.0), "rms", "none", False, 2, 6, 6, 6),
    ("softmax-twopass-swiglu-layernorm-rope-tied", "softmax", "two_pass", None, gated("swiglu", beta=1.5), "layer", "rope", True, 1, 7, 6, 6),
    (
        "2layers-lssar-polynorm-rmsnorm-rope-untied",
        LSSAR,
        None,
        None,
        {"kind": "polynorm", "a": [0.25, 0.5, 0.25, 0.125]},
        "rms",
        "rope",
        False,
        2,
        6,
        6,
        6,
    ),
    ("sigmoid-bias-crrelu-layernorm-nope-untied", "sigmoid", None, SIGMOID_BIAS, each("crrelu", eps=0.25), "layer", "none", False, 1, 7, 5, 6),
    ("lssa-default-geglu-rmsnorm-learned-untied", LSSA_DEFAULT, None, None, gated("geglu"), "rms", "learned", False, 1, 7, 6, 6),
    ("linear-squaredrelu-layernorm-rope-tied", "linear", None, None, each("squared_relu"), "layer", "rope", True, 1, 6, 6, 6),
]


def config(attention, algorithm, bias, unit, norm, positions, tied, layers, vocab, max_len):
    return {
        "vocab": vocab,
        "max_len": max_len,
        "layers": layers,
        "width": 8,
        "heads": 2,
        "ffn": 8,
        "attention": attention,
        "softmax_algorithm": algorithm,
        "sigmoid_bias": bias,
        "hidden": unit,
        "norm": norm,
        "positions": positions,
        "tied": tied,
    }


def tensors(cfg):
    out, at = [], 0
    for name, shape in ref.layout(cfg):
        size = int(np.prod(shape))
        out.append([name, list(shape), at, size])
        at += size
    return out


def params(cfg, phase):
    p = np.zeros(ref.total(cfg))
    for name, _, at, size in tensors(cfg):
        for i in range(at, at + size):
            if name.split(".")[-1] in ("ln1", "ln2", "lnf"):
                value = 1 + 0.1 * math.cos(i)
            else:
                value = 0.5 * math.sin(1 + phase + 0.37 * i + 0.0123 * i * i)
            p[i] = round(1024 * value) / 1024
    assert np.all(p.astype(np.float32).astype(np.float64) == p)
    return p


def sequences(vocab, t):
    """Tokens and targets [B * T]; two targets (one per sequence) are IGNORE."""
    i = np.arange(B * t)
    tokens = (3 * i + 1 + i // t) % vocab
    targets = (5 * i + 2 + i // 2) % vocab
    targets[0] = ref.IGNORE
    targets[B * t - 2] = ref.IGNORE
    return tokens, targets


def short(values):
    """Ten significant digits: far below the test's tolerances, and a third shorter in JSON."""
    return [float(f"{v:.10g}") for v in np.ravel(np.asarray(values))]


def check_finite_difference(cfg, p, tokens, targets, grad, what, step=1e-6):
    d = np.random.RandomState(0).normal(size=p.shape)
    at = lambda s: float(ref.loss(cfg, jnp.asarray(p + s * d), tokens, targets)[0])
    fd = (at(step) - at(-step)) / (2 * step)
    exact = float(np.dot(grad, d))
    assert abs(fd - exact) < 1e-6 * max(1.0, abs(exact)), (what, fd, exact)


def case(name, attention, algorithm, bias, unit, norm, positions, tied, layers, vocab, t, max_len):
    cfg = config(attention, algorithm, bias, unit, norm, positions, tied, layers, vocab, max_len)
    for value in [bias] + [x for x in unit.get("params", {}).values()] + unit.get("a", []):
        assert value is None or f32(value) == value, (name, value)
    assert t <= max_len or positions != "learned", name
    tokens, targets = sequences(vocab, t)
    tok2, tgt2 = tokens.reshape(B, t), targets.reshape(B, t)
    kinked = unit["kind"] == "each" and unit["function"] in KINKED
    for phase in np.arange(20) * 0.5:
        p = params(cfg, phase)
        pre, _ = ref.hidden(cfg, jnp.asarray(p), tok2)
        closest = min(float(jnp.min(jnp.abs(h))) for h in pre)
        if not kinked or closest > KINK_MARGIN:
            break
    else:
        raise AssertionError((name, "every phase puts a pre-activation on the kink"))
    if phase:
        print(f"{name}: phase {phase} (phase 0 puts a pre-activation within {KINK_MARGIN} of the kink)")
    value, logits, grad = ref.loss_and_grad(cfg, jnp.asarray(p), tok2, tgt2)
    grad = np.asarray(grad)
    assert np.all(np.isfinite(grad)) and np.isfinite(value), name
    check_finite_difference(cfg, p, tok2, tgt2, grad, name)
    return {
        "name": name,
        "config": cfg,
        "batch": B,
        "seq_len": t,
        "phase": float(phase),
        "tensors": tensors(cfg),
        "params": p.tolist(),
        "tokens": tokens.tolist(),
        "targets": targets.tolist(),
        "loss": short(value)[0],
        "logits": short(logits),
        "grad": short(grad),
    }


def main():
    cases = [case(*c) for c in CASES]
    line = lambda v: json.dumps(v, allow_nan=False, separators=(",", ":"))
    with open(OUT, "w") as f:
        f.write('{"generator":"tools/gen_model_fixtures.py","format":2,"cases":[\n')
        f.write(",\n".join(line(c) for c in cases) + "\n]}\n")
    size = os.path.getsize(OUT)
    print(f"{len(cases)} cases, {size} bytes")
    assert size < MAX_BYTES, size


if __name__ == "__main__":
    main()
