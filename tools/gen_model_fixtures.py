"""Writes kernels/tests/fixtures/model.json: loss, logits and the gradient with respect to every
parameter of the Model lab's transformer, from tools/model_reference.py (float64 JAX).

Run from the repository root: python3 tools/gen_model_fixtures.py. The output is deterministic.

Each case is one fixed config (its fields named as in `Config`; the attention variant named as
in tools/attention_reference.py's VARIANTS, with the softmax algorithm the kernel should run),
B sequences of T tokens, the flat parameter vector in the order of `Config::layout` (the
layout is stored too, [name, offset, length] per tensor, to check against the kernel's), tokens
and targets [B * T] (-1 for IGNORE, u32::MAX on the Rust side), the loss, the logits [B, T, V]
and the gradient (flat, same layout).

Parameters are multiples of 2^-10 (exact in float32, and short in JSON), so the Rust side reads
exactly the numbers the reference used. The i-th entry of the flat vector is
round(1024 * 0.5 sin(1 + ph + 0.37 i + 0.0123 i^2)) / 1024, or round(1024 (1 + 0.1 cos(i))) / 1024
for the norms' gains; the quadratic term keeps the matrices from being rank 2 (as sin of a
linear function of the flat index would make them). The phase ph = 0 is raised by 0.5 while a
ReLU pre-activation lies within 1e-4 of its kink (the float32 kernel could land on the other
side); the phase is stored. Each gradient is also checked here against a central difference
along a fixed random direction.
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
B = 2
LSSA = "lssa:qknorm=0:scale=invsqrtd"
SILU = ("silu", {"beta": 1.0})

CASES = [
    # name, attention, softmax algorithm, (activation, params), layers, vocab, T, max_len,
    # learned positions, tied
    ("softmax-gelu-positions-untied", "softmax", "three_pass", ("gelu", {}), 1, 11, 6, 6, True, False),
    ("sigmoid-relu-nopositions-tied", "sigmoid", None, ("relu", {}), 1, 9, 5, 5, False, True),
    ("lssa-silu-positions-tied", LSSA, None, SILU, 1, 10, 5, 6, True, True),
    ("2layers-softmax-online-relu-positions-untied", "softmax", "online", ("relu", {}), 2, 11, 6, 6, True, False),
    ("2layers-sigmoid-silu-nopositions-untied", "sigmoid", None, SILU, 2, 8, 6, 6, False, False),
]


def config(attention, algorithm, activation, layers, vocab, max_len, positions, tied):
    function, params = activation
    return {
        "vocab": vocab,
        "max_len": max_len,
        "layers": layers,
        "width": 8,
        "heads": 2,
        "ffn": 16,
        "attention": attention,
        "softmax_algorithm": algorithm,
        "activation": {"function": function, "params": params},
        "learned_positions": positions,
        "tied": tied,
    }


def spans(cfg):
    out, at = [], 0
    for name, shape in ref.layout(cfg):
        size = int(np.prod(shape))
        out.append([name, at, size])
        at += size
    return out


def params(cfg, phase):
    p = np.zeros(ref.total(cfg))
    for name, at, size in spans(cfg):
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


def check_finite_difference(cfg, p, tokens, targets, grad, what, step=1e-6):
    d = np.random.RandomState(0).normal(size=p.shape)
    at = lambda s: float(ref.loss(cfg, jnp.asarray(p + s * d), tokens, targets)[0])
    fd = (at(step) - at(-step)) / (2 * step)
    exact = float(np.dot(grad, d))
    assert abs(fd - exact) < 1e-6 * max(1.0, abs(exact)), (what, fd, exact)


def case(name, attention, algorithm, activation, layers, vocab, t, max_len, positions, tied):
    cfg = config(attention, algorithm, activation, layers, vocab, max_len, positions, tied)
    tokens, targets = sequences(vocab, t)
    tok2, tgt2 = tokens.reshape(B, t), targets.reshape(B, t)
    kinked = activation[0] == "relu"
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
        "layout": spans(cfg),
        "params": p.tolist(),
        "tokens": tokens.tolist(),
        "targets": targets.tolist(),
        "loss": float(value),
        "logits": np.ravel(np.asarray(logits)).tolist(),
        "grad": grad.tolist(),
    }


def main():
    cases = [case(*c) for c in CASES]
    line = lambda v: json.dumps(v, allow_nan=False, separators=(",", ":"))
    with open(OUT, "w") as f:
        f.write('{"generator":"tools/gen_model_fixtures.py","format":1,"cases":[\n')
        f.write(",\n".join(line(c) for c in cases) + "\n]}\n")
    size = os.path.getsize(OUT)
    print(f"{len(cases)} cases, {size} bytes")
    assert size < MAX_BYTES, size


if __name__ == "__main__":
    main()
