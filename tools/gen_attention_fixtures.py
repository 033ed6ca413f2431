"""Writes kernels/tests/fixtures/attention.{bin,json} from tools/attention_reference.py.

Run from the repository root: python3 tools/gen_attention_fixtures.py. The output is
deterministic. The .bin holds float32 little-endian tensors back to back; the .json
indexes them as [offset, len] in float32 elements.
"""

import json
import os
import time

import numpy as np

from attention_reference import NORMALISED, VARIANTS, Rng, forward_backward, row_stats

OUT_DIR = "kernels/tests/fixtures"
MAX_BYTES = 8_000_000
WEIGHTS_MAX_N = 64


def inputs(n, d, kind):
    """q, k, v, dout as float32 [n, d], drawn from one Rng in that order."""
    rng = Rng(1000 * n + d)
    q, k, v, dout = (rng.symmetric(n * d).reshape(n, d) for _ in range(4))
    if kind == "large":
        # Integers floor(128 x) in [-128, 127]: every product and partial sum of q.k is exact
        # in float32, and 1/sqrt(d) is a power of two for d = 16 and 64, so the scores (about
        # +-1e4) carry no rounding from float32 inputs. The test then measures the normaliser
        # at extreme logits, not the conditioning of a float32 dot product.
        q, k = np.floor(q * np.float32(128)), np.floor(k * np.float32(128))
    return q, k, v, dout


def case_floats(n, d):
    return 4 * n * d + (n * n if n <= WEIGHTS_MAX_N else 0) + 5 * n


def check_rng():
    r = Rng(7)
    got = [r.next_u32() for _ in range(4)]
    assert got == [1272886081, 2559268596, 3744202375, 949846691], got


def check_softmax_gradient():
    q, k, v, dout = (x.astype(np.float64) for x in inputs(3, 4, "unit"))
    _, _, *grads = forward_backward("softmax", "causal", q, k, v, dout)
    args, h = [q, k, v], 1e-6
    for which, grad in enumerate(grads):
        fd = np.zeros_like(args[which])
        for idx in np.ndindex(fd.shape):
            loss = []
            for sign in (1, -1):
                moved = [a.copy() for a in args]
                moved[which][idx] += sign * h
                out = forward_backward("softmax", "causal", *moved, dout)[0]
                loss.append(np.sum(dout * np.asarray(out)))
            fd[idx] = (loss[0] - loss[1]) / (2 * h)
        err = np.max(np.abs(fd - grad)) / np.max(np.abs(grad))
        assert err < 1e-6, ("softmax finite difference", which, err)


def check_weights(variant, mask, a):
    a = np.asarray(a)
    if variant in NORMALISED:
        assert np.max(np.abs(a.sum(axis=1) - 1)) < 1e-12, (variant, mask)
    if mask == "causal":
        assert np.all(np.triu(a, 1) == 0), (variant, "future keys")


def main():
    start = time.time()
    check_rng()
    check_softmax_gradient()
    shapes = [(n, d) for n in (1, 3, 64, 257) for d in (16, 64)]
    plan = [
        (variant, mask, kind, n, d)
        for variant in VARIANTS
        for mask in ("causal", "full")
        for kind in ("unit", "large")
        for n, d in shapes
    ]
    # Size cap: drop the n=257, d=64 cases, large ones first, while over budget. All of
    # them go at present (about 10.5 MB with the unit ones, 6.2 MB without).
    for kind in ("large", "unit"):
        if 4 * sum(case_floats(n, d) for *_, n, d in plan) > MAX_BYTES:
            plan = [c for c in plan if not (c[2] == kind and c[3:] == (257, 64))]
    # Odd sizes, with unit inputs only (the integer "large" inputs rely on 1/sqrt(d) being a
    # power of two): tails of every block and tile in the kernels.
    plan += [
        (variant, mask, "unit", n, d)
        for variant in VARIANTS
        for mask in ("causal", "full")
        for n, d in ((5, 5), (37, 37))
    ]
    chunks, cases, offset = [], [], 0
    for variant, mask, kind, n, d in plan:
        q, k, v, dout = inputs(n, d, kind)
        f64 = [x.astype(np.float64) for x in (q, k, v, dout)]
        out, a, dq, dk, dv = forward_backward(variant, mask, *f64)
        check_weights(variant, mask, a)
        tensors = {"out": out, "dq": dq, "dk": dk, "dv": dv}
        if n <= WEIGHTS_MAX_N:
            tensors["weights"] = a
        tensors.update(row_stats(a, mask))
        index = {}
        for key, t in tensors.items():
            flat = np.asarray(t, dtype="<f4").ravel()
            assert np.all(np.isfinite(flat)), (variant, mask, kind, n, d, key)
            chunks.append(flat)
            index[key] = [offset, flat.size]
            offset += flat.size
        cases.append(
            {
                "name": f"{variant}/{mask}/{kind}/n{n}_d{d}",
                "variant": variant,
                "mask": mask,
                "kind": kind,
                "n": n,
                "d": d,
                "seed": 1000 * n + d,
                "input_scale": 128.0 if kind == "large" else 1.0,
                # q as fed to the kernel, so already x128 for the large kind.
                "rng_check": [float(x) for x in q.ravel()[:4]],
                "tensors": index,
            }
        )
    os.makedirs(OUT_DIR, exist_ok=True)
    np.concatenate(chunks).tofile(os.path.join(OUT_DIR, "attention.bin"))
    index = {
        "generator": "tools/gen_attention_fixtures.py",
        "format": 1,
        "cases": cases,
    }
    with open(os.path.join(OUT_DIR, "attention.json"), "w") as f:
        json.dump(index, f, indent=1)
        f.write("\n")
    print(f"{len(cases)} cases, {4 * offset} bytes, {time.time() - start:.1f} s")


if __name__ == "__main__":
    main()
