"""Writes kernels/tests/fixtures/alignment.json from tools/alignment_reference.py.

Run from the repository root: python3 tools/gen_alignment_fixtures.py. The output is
deterministic (fixed seeds; every float is written as its shortest round-trip repr, so the
Rust side reads exactly the inputs the reference used). Five groups:

- curves: for each loss (KTO desirable and undesirable) and each parameter set of PARAMS,
  L(h) and the gradient weight w(h) = -dL/dh (jax.grad) on a grid over [-10, 10] plus
  +-50, +-200, +-1000, as `losses::curve` defines h (see margin_loss). The hinge leaves out
  the h where beta h = 1 (its kink).
- pairs: `losses::pair_loss` on summed log-probabilities (random ones, and extremes: -1000,
  and mean token log-probabilities of -1e-6 and -1e-10 for ORPO's log-odds), lengths != 1,
  beta_rejected != beta (every kind gets one; only the beta-scaled ones may read it): the
  loss and its jax.grad with respect to the chosen and the rejected log-probability.
- toys: the DPO toy's off-policy loss for one prompt (2 chosen, 2 rejected responses) and its
  jax.grad with respect to the policy's parameters (tabular logits, or the weights of the
  linear policy on `preference_toy::features`), at parameters theta with the reference frozen
  at theta_ref. Some parameter sets carry lengths != 1: the toy's responses are one token
  long, and the reference uses lengths 1 whatever they say.
- best_of_n: exact best-of-N distributions (rational arithmetic on the float64 inputs) for
  N in NS, their expected reward and KL(q || p); the tilt q prop. to p e^(r/beta) for beta in
  BETAS (JAX), its expected reward and KL. The outcome sets have ties, a zero-probability
  outcome (once at the top reward) and, at N = 1024, probabilities down to the subnormal range.
- nash: self-play, Nash-MD and EGPO on rock-paper-scissors and two random antisymmetric
  preference matrices (stored), from a stored start with a uniform reference: the policy and
  the exploitability after 0, 1, 10 and 50 iterations.
"""

import itertools
import json
import math
import os
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np

import alignment_reference as ref

OUT = "kernels/tests/fixtures/alignment.json"
PARAMS = [
    dict(ref.DEFAULTS),
    dict(ref.DEFAULTS, beta=2.0, eps=0.3, tau=0.25, simpo_beta=2.5, gamma=1.2, len_chosen=5.0,
         len_rejected=20.0, **{"lambda": 0.5}, z0=0.7, lambda_d=1.33, lambda_u=0.75),
    dict(ref.DEFAULTS, beta=0.5, eps=0.05, tau=0.05, simpo_beta=1.0, gamma=0.3, len_chosen=20.0,
         len_rejected=5.0, **{"lambda": 0.2}, z0=2.5, lambda_d=0.8, lambda_u=1.6),
]
EXTREMES = [-1000.0, -200.0, -50.0, 50.0, 200.0, 1000.0]
GRID = sorted(set(np.linspace(-10, 10, 41).tolist() + [-0.37, 0.37, 1 / 3, math.pi] + EXTREMES))
NS = [1, 2, 3, 7, 64, 1024]
BETAS = [1e-3, 0.1, 1.0, 100.0]
CHECKPOINTS = [0, 1, 10, 50]


def scalar(x):
    x = float(x)
    assert math.isfinite(x), x
    return x


def curves():
    out = []
    sides = [(k, True) for k in ref.KINDS] + [("kto", False)]
    for kind, desirable in sides:
        for i, prm in enumerate(PARAMS):
            f = lambda h: ref.margin_loss(kind, prm, h, desirable)
            hs = [h for h in GRID if kind != "hinge" or abs(prm["beta"] * h - 1) > 1e-9]
            loss, weight = [], []
            for h in hs:
                value, slope = jax.value_and_grad(f)(h)
                loss.append(scalar(value))
                weight.append(scalar(-slope))
            out.append({"kind": kind, "desirable": desirable, "params": i, "h": hs, "loss": loss,
                        "weight": weight})
    return out


def check_curve_against_pairs():
    """The two independent readings agree: curve(h) = pair_loss on the margin's pair."""
    for kind in ["dpo", "cdpo", "robust_dpo", "ipo", "hinge"]:
        for prm in PARAMS:
            unit = dict(prm, len_chosen=1.0, len_rejected=1.0)
            for h in [-7.3, -0.4, 0.9, 6.1]:
                a = ref.margin_loss(kind, prm, h)
                b = ref.pair_loss(kind, unit, h, 0.0, 0.0, 0.0, prm["beta"])
                assert abs(a - b) <= 1e-13 * (1 + abs(a)), (kind, h, a, b)
    for prm in PARAMS:
        for h in [-7.3, -0.4, 0.9, 6.1]:
            l_l = -prm["len_rejected"]
            a = ref.margin_loss("simpo", prm, h)
            b = ref.pair_loss("simpo", prm, l_l + h, l_l, 0.0, 0.0, 0.0)
            assert abs(a - b) <= 1e-13 * (1 + abs(a)), ("simpo", h, a, b)
            # ORPO: the chosen mean log-prob whose log-odds sit h above the rejected one's.
            unit = dict(prm, len_chosen=1.0, len_rejected=1.0)
            mean_w = ref.log_sigmoid(ref.log_odds(ref.ORPO_REJECTED_MEAN_LOGP) + h)
            a = ref.margin_loss("orpo", prm, h)
            b = ref.pair_loss("orpo", unit, mean_w, ref.ORPO_REJECTED_MEAN_LOGP, 0.0, 0.0, 0.0)
            assert abs(a - b) <= 1e-12 * (1 + abs(a)), ("orpo", h, a, b)


def pair_inputs(rng, prm):
    """Random log-probabilities: mean token log-probs in [-3, -0.05], references nearby."""
    chosen = -prm["len_chosen"] * rng.uniform(0.05, 3.0)
    rejected = -prm["len_rejected"] * rng.uniform(0.05, 3.0)
    return [chosen, rejected, chosen + rng.normal(0, 2.0), rejected + rng.normal(0, 2.0)]


def pairs():
    rng = np.random.RandomState(1)
    out = []
    for kind in ref.KINDS:
        for i, prm in enumerate(PARAMS):
            n_w, n_l = prm["len_chosen"], prm["len_rejected"]
            inputs = [pair_inputs(rng, prm) for _ in range(5)] + [
                [-1000.0, -1.0, -2.0, -3.0],
                [-1.0, -1000.0, -1.5, -2.0],
                [-2.5, -4.0, -1000.0, -3.0],
                [-1e-6 * n_w, -1e-10 * n_l, -0.3, -0.2],
                [-1e-10 * n_w, -1e-6 * n_l, -0.2, -0.3],
                [-3.0 * n_w, -1e-6 * n_l, -1000.0, -0.5],
            ]
            for x in inputs:
                x = [float(v) for v in x]
                beta_rejected = float(prm["beta"] * rng.uniform(0.5, 0.95))
                if kind == "hinge":
                    u = prm["beta"] * (x[0] - x[2]) - beta_rejected * (x[1] - x[3])
                    if abs(u - 1) < 1e-9:
                        continue
                f = lambda c, r: ref.pair_loss(kind, prm, c, r, x[2], x[3], beta_rejected)
                value, (dc, dr) = jax.value_and_grad(f, (0, 1))(x[0], x[1])
                out.append({"kind": kind, "params": i, "chosen": x[0], "rejected": x[1],
                            "chosen_ref": x[2], "rejected_ref": x[3],
                            "beta_rejected": beta_rejected, "loss": scalar(value),
                            "d_chosen": scalar(dc), "d_rejected": scalar(dr)})
    return out


def toys():
    rng = np.random.RandomState(2)
    out = []
    settings = [
        # (policy features or None, V, chosen, rejected, params, beta_rejected factor, sft_alpha)
        (None, 12, [3, 5], [4, 9], 0, 0.7, 0.3),
        ((6,), 12, [3, 5], [4, 9], 0, 1.0, 0.0),
        (None, 16, [1, 14], [7, 8], 1, 0.85, 0.0),
        ((5,), 16, [1, 14], [7, 8], 1, 0.6, 1.0),
        (None, 10, [0, 9], [2, 3], 2, 1.0, 1.0),
        ((4,), 10, [0, 9], [2, 3], 2, 0.9, 0.3),
    ]
    for kind in ref.KINDS:
        for s, (feat, v, chosen, rejected, pi, br, alpha) in enumerate(settings):
            prm = PARAMS[pi]
            f = v if feat is None else feat[0]
            phi = None if feat is None else ref.features(v, f)
            theta_ref = rng.normal(0, 0.5, f)
            theta_ref[rng.randint(f)] += 2.0
            theta = theta_ref + rng.normal(0, 0.7, f)
            if kind in ("dpo", "kto") and s == 1:
                theta = theta_ref.copy()  # at the reference: margin 0, KL 0
            spec = {"loss": kind, "params": prm, "beta_rejected": prm["beta"] * br,
                    "sft_alpha": alpha, "chosen": chosen, "rejected": rejected}
            value, grad = jax.value_and_grad(ref.toy_loss, 1)(spec, jnp.asarray(theta),
                                                              jnp.asarray(theta_ref), phi)
            check_finite_difference(spec, theta, theta_ref, phi, grad, kind)
            out.append({"loss_kind": kind, "params": pi, "responses": v,
                        "features": None if feat is None else f, "chosen": chosen,
                        "rejected": rejected, "beta_rejected": spec["beta_rejected"],
                        "sft_alpha": alpha, "theta_ref": theta_ref.tolist(),
                        "theta": theta.tolist(), "loss": scalar(value),
                        "grad": [scalar(g) for g in grad]})
    return out


def check_finite_difference(spec, theta, theta_ref, phi, grad, what, step=1e-6):
    # Along one random direction; KTO's z0 is detached, so it is held at its value here.
    d = np.random.RandomState(9).normal(size=theta.shape)
    theta, theta_ref = jnp.asarray(theta), jnp.asarray(theta_ref)
    z0 = None
    if spec["loss"] == "kto":
        logp, log_ref = ref.toy_log_probs(theta, phi), ref.toy_log_probs(theta_ref, phi)
        z0 = max(float(jnp.sum(jnp.exp(logp) * (logp - log_ref))), 0.0)
    at = lambda t: float(ref.toy_loss(spec, theta + t * d, theta_ref, phi, z0))
    fd = (at(step) - at(-step)) / (2 * step)
    exact = float(np.dot(grad, d))
    assert abs(fd - exact) < 1e-6 * max(1.0, abs(exact)), (what, fd, exact)


OUTCOME_SETS = [
    # The kernel's own unit-test set: a three-way tie at the top.
    ([Fraction(1, 10), Fraction(1, 4), Fraction(1, 20), Fraction(3, 10), Fraction(1, 5),
      Fraction(1, 10)], [0.0, 1.0, 1.0, -2.0, 0.5, 1.0]),
    # A zero-probability outcome at the top reward, thirds, a tie in the middle.
    ([Fraction(1, 3), Fraction(1, 6), Fraction(0), Fraction(1, 4), Fraction(1, 4)],
     [0.25, -1.0, 2.0, 0.25, 1.5]),
    # Twelve outcomes, p_k = k/78, rewards with repeats.
    ([Fraction(k, 78) for k in range(1, 13)],
     [x / 4 for x in [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8]]),
    # Dyadic (exact in float64), distinct rewards: (1/2)^1024 is subnormal.
    ([Fraction(1, 2), Fraction(1, 4), Fraction(1, 8), Fraction(1, 16), Fraction(1, 32),
      Fraction(1, 32)], [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]),
    # One dominant outcome with a rare best one: the top group's 1 - G^N.
    ([Fraction(999, 1000), Fraction(1, 2000), Fraction(1, 2000)], [0.0, 1.0, -1.0]),
]


def enumerated_best_of_n(p, r, n):
    """Best-of-N by enumerating every N-tuple of draws (ties split evenly among the tied draws)."""
    p = [Fraction(x) for x in p]
    q = [Fraction(0)] * len(p)
    for draws in itertools.product(range(len(p)), repeat=n):
        prob = math.prod(p[i] for i in draws)
        best = max(r[i] for i in draws)
        tied = [i for i in draws if r[i] == best]
        for i in tied:
            q[i] += prob / len(tied)
    return q


def best_of_n():
    out = []
    for p_exact, r in OUTCOME_SETS:
        assert sum(p_exact) == 1
        for n in [1, 2, 3]:
            assert ref.best_of_n(p_exact, r, n) == enumerated_best_of_n(p_exact, r, n), (r, n)
        p = [float(x) for x in p_exact]  # what the kernel gets; the reference uses these exactly
        bon = []
        for n in NS:
            q = ref.best_of_n(p, r, n)
            reward, kl = ref.exact_reward_and_kl(q, p, r)
            bon.append({"n": n, "q": [float(x) for x in q], "reward": reward, "kl": kl})
        tilt = []
        for beta in BETAS:
            q, reward, kl = ref.tilted(p, r, beta)
            tilt.append({"beta": beta, "q": [float(x) for x in q], "reward": scalar(reward),
                         "kl": scalar(kl)})
        out.append({"p": p, "r": r, "bon": bon, "tilt": tilt})
    return out


def random_game(seed, k):
    rng = np.random.RandomState(seed)
    m = np.full((k, k), 0.5)
    for i in range(k):
        for j in range(i + 1, k):
            m[i, j] = float(jax.nn.sigmoid(2.0 * rng.normal()))
            m[j, i] = 1.0 - m[i, j]
    start = rng.uniform(0.2, 1.0, k)
    return m, start / start.sum()


def nash():
    rps = np.array([[0.5, 1.0, 0.0], [0.0, 0.5, 1.0], [1.0, 0.0, 0.5]])
    games = [("rock_paper_scissors", rps, np.array([0.6, 0.3, 0.1]), 0.1, 0.1)]
    m, start = random_game(5, 5)
    games.append(("random5", m, start, 0.1, 0.1))
    m, start = random_game(6, 5)
    games.append(("random5_eta0.5_tau0.05", m, start, 0.5, 0.05))
    out = []
    for name, m, start, eta, tau in games:
        k = len(start)
        assert np.all(m + m.T == 1.0)
        mu = np.full(k, 1.0 / k)
        runs = {}
        for method in ["self_play", "nash_md", "egpo"]:
            pi, policies, expl = jnp.asarray(start), [], []
            for t in range(CHECKPOINTS[-1] + 1):
                if t in CHECKPOINTS:
                    policies.append([scalar(x) for x in pi])
                    expl.append(scalar(ref.exploitability(jnp.asarray(m), pi)))
                pi = ref.nash_step(method, jnp.asarray(m), pi, jnp.asarray(mu), eta, tau)
            runs[method] = {"policies": policies, "exploitability": expl}
        out.append({"name": name, "matrix": m.ravel().tolist(), "start": start.tolist(),
                    "reference": mu.tolist(), "eta": eta, "tau": tau, "iterations": CHECKPOINTS,
                    "runs": runs})
    return out


def main():
    check_curve_against_pairs()
    groups = {"curves": curves(), "pairs": pairs(), "toys": toys(), "best_of_n": best_of_n(),
              "nash": nash()}
    line = lambda v: json.dumps(v, allow_nan=False, separators=(",", ":"))
    with open(OUT, "w") as f:
        f.write('{"generator":"tools/gen_alignment_fixtures.py","format":1,\n')
        f.write('"params":[\n' + ",\n".join(line(p) for p in PARAMS) + "\n],\n")
        f.write(",\n".join(f'"{k}":[\n' + ",\n".join(line(c) for c in v) + "\n]"
                           for k, v in groups.items()))
        f.write("}\n")
    counts = ", ".join(f"{len(v)} {k}" for k, v in groups.items())
    print(f"{counts}; {os.path.getsize(OUT)} bytes")


if __name__ == "__main__":
    main()
