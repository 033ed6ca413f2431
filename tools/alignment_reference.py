"""Float64 JAX (and exact rational) reference for the alignment kernels of Softplay.

Written from docs/MATH.md ("Preference losses (DPO family)", "Best-of-N and the
KL-regularised tilt", "Nash learning") and the doc comments of
kernels/src/alignment/, not from the Rust code: every loss is a scalar function of its
inputs, and every gradient in the fixtures is its jax.grad. The generator

    python3 tools/gen_alignment_fixtures.py      # from the repository root

rewrites kernels/tests/fixtures/alignment.json from it.

The fixtures reach margins of +-1000 and probabilities of 1e-44, so the forms below keep
their relative accuracy in both tails, value and derivative: every sp(x) = ln(1 + e^x) is
jax.nn.softplus and every ln sigma(x) is jax.nn.log_sigmoid (JAX differentiates both through
logaddexp, whose derivative e^(x - sp(x)) stays exact in the tails), and a sigmoid that is a
loss in its own right (KTO) is exp(log_sigmoid(x)) rather than jax.nn.sigmoid, whose
derivative s(1 - s) rounds to 0 once s rounds to 1. ORPO's ln(1 - e^l) is Maechler's
two-branch form (log(-expm1(l)) near 0, log1p(-exp(l)) beyond -ln 2): the naive
log(1 - exp(l)) cancels, and its 1 - e^l is off by 2e-11 relative at a mean token
log-probability of -1e-6, by 8e-8 at -1e-10.

Best-of-N is exact: probabilities are Fractions (the exact values of the float64 inputs the
kernel sees), F^N - G^N is computed in rational arithmetic, and only the result is rounded.
"""

import math
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

KINDS = ["dpo", "cdpo", "robust_dpo", "ipo", "hinge", "simpo", "orpo", "kto"]
BETA_SCALED = {"dpo", "cdpo", "robust_dpo", "hinge"}
DEFAULTS = {
    "beta": 0.1,
    "eps": 0.1,
    "tau": 0.1,
    "simpo_beta": 2.0,
    "gamma": 0.5,
    "len_chosen": 10.0,
    "len_rejected": 10.0,
    "lambda": 0.1,
    "z0": 0.0,
    "lambda_d": 1.0,
    "lambda_u": 1.0,
}
# ORPO's curve puts the rejected response at this mean token log-probability.
ORPO_REJECTED_MEAN_LOGP = -1.0

sp = jax.nn.softplus
log_sigmoid = jax.nn.log_sigmoid


def sigmoid_loss(x):
    """sigma(x) as a loss: exact derivative in both tails (see the module docstring)."""
    return jnp.exp(log_sigmoid(x))


def log1mexp(x):
    """ln(1 - e^x) for x < 0 (Maechler 2012); both branches are finite for every x < 0."""
    return jnp.where(x > -math.log(2), jnp.log(-jnp.expm1(x)), jnp.log1p(-jnp.exp(x)))


def log_odds(mean_logp):
    """ln(p / (1 - p)) for p = e^mean_logp."""
    return mean_logp - log1mexp(mean_logp)


# ---- losses on a margin h (docs/MATH.md, "Preference losses" table; what `losses::curve` draws)


def margin_loss(kind, prm, h, desirable=True):
    """L(h). DPO to hinge: h is the implicit-reward margin, IPO's per token with lengths 1.
    SimPO: h = l_w - l_l with l_l = -|y_l| (mean token log-prob -1), real lengths.
    ORPO: h = lo_w - lo_l with the rejected mean log-prob at -1; the chosen one's mean
    log-prob is ln sigma(lo_w), so its NLL is -ln sigma(lo_w). KTO: h is the reward r."""
    b, e = prm["beta"], prm["eps"]
    if kind == "dpo":
        return sp(-b * h)
    if kind == "cdpo":
        return (1 - e) * sp(-b * h) + e * sp(b * h)
    if kind == "robust_dpo":
        return ((1 - e) * sp(-b * h) - e * sp(b * h)) / (1 - 2 * e)
    if kind == "ipo":
        return (h - 1 / (2 * prm["tau"])) ** 2
    if kind == "hinge":
        return jnp.maximum(0.0, 1 - b * h)
    if kind == "simpo":
        l_l = -prm["len_rejected"]
        l_w = l_l + h
        m = prm["simpo_beta"] * (l_w / prm["len_chosen"] - l_l / prm["len_rejected"]) - prm["gamma"]
        return -log_sigmoid(m)
    if kind == "orpo":
        lo_w = log_odds(ORPO_REJECTED_MEAN_LOGP) + h
        return -log_sigmoid(lo_w) - prm["lambda"] * log_sigmoid(h)
    if kind == "kto":
        return kto(prm, h, desirable, prm["z0"])
    raise ValueError(kind)


def kto(prm, r, desirable, z0):
    """Desirable lambda_D (1 - sigma(beta (r - z0))),
    undesirable lambda_U (1 - sigma(beta (z0 - r)))."""
    b = prm["beta"]
    if desirable:
        return prm["lambda_d"] * sigmoid_loss(-b * (r - z0))
    return prm["lambda_u"] * sigmoid_loss(-b * (z0 - r))


# ---- losses on a pair of summed log-probabilities (`losses::pair_loss`) -----------------


def pair_loss(kind, prm, chosen, rejected, chosen_ref, rejected_ref, beta_rejected, z0=None):
    """L for one pair. beta_rejected (Flex-DPO's beta-) scales the rejected side of the
    beta-scaled losses only; the others read prm["beta"] (KTO) or no beta at all. KTO takes
    the chosen response as desirable and the rejected one as undesirable, z0 from prm unless
    given (the toy passes its detached KL)."""
    r_w, r_l = chosen - chosen_ref, rejected - rejected_ref
    b, e = prm["beta"], prm["eps"]
    n_w, n_l = prm["len_chosen"], prm["len_rejected"]
    if kind in BETA_SCALED:
        u = b * r_w - beta_rejected * r_l
        if kind == "dpo":
            return -log_sigmoid(u)
        if kind == "cdpo":
            return -(1 - e) * log_sigmoid(u) - e * log_sigmoid(-u)
        if kind == "robust_dpo":
            return (-(1 - e) * log_sigmoid(u) + e * log_sigmoid(-u)) / (1 - 2 * e)
        return jnp.maximum(0.0, 1 - u)
    if kind == "ipo":
        return (r_w / n_w - r_l / n_l - 1 / (2 * prm["tau"])) ** 2
    if kind == "simpo":
        m = prm["simpo_beta"] * chosen / n_w - prm["simpo_beta"] * rejected / n_l - prm["gamma"]
        return -log_sigmoid(m)
    if kind == "orpo":
        mean_w, mean_l = chosen / n_w, rejected / n_l
        return -mean_w - prm["lambda"] * log_sigmoid(log_odds(mean_w) - log_odds(mean_l))
    if kind == "kto":
        z0 = prm["z0"] if z0 is None else z0
        return kto(prm, r_w, True, z0) + kto(prm, r_l, False, z0)
    raise ValueError(kind)


# ---- the DPO toy (`preference_toy`) ------------------------------------------------------


def features(v, f):
    """[V, F]: Gaussian bumps, centre_k = (k + 1/2) V/F - 1/2, width V/F."""
    width = v / f
    d = (np.arange(v)[:, None] - ((np.arange(f)[None, :] + 0.5) * width - 0.5)) / width
    return np.exp(-0.5 * d * d)


def toy_log_probs(params, phi):
    """ln pi over the V responses; phi is None for the tabular policy (params are the logits)."""
    z = params if phi is None else jnp.asarray(phi) @ params
    return jax.nn.log_softmax(z)


def toy_loss(spec, params, params_ref, phi, z0=None):
    """The off-policy loss of one prompt: the mean over chosen x rejected pairs of the pair
    loss on one-token responses (lengths 1), plus sft_alpha * (-ln pi(chosen)) per pair. The
    reference is the policy at params_ref (a constant). KTO's z0 is KL(pi || pi_ref) of the
    prompt, clamped at 0 and detached (or the given constant)."""
    logp = toy_log_probs(params, phi)
    log_ref = jax.lax.stop_gradient(toy_log_probs(params_ref, phi))
    kind = spec["loss"]
    prm = dict(spec["params"], len_chosen=1.0, len_rejected=1.0)
    beta_rejected = spec["beta_rejected"] if kind in BETA_SCALED else prm["beta"]
    if kind == "kto" and z0 is None:
        z0 = jax.lax.stop_gradient(jnp.maximum(jnp.sum(jnp.exp(logp) * (logp - log_ref)), 0.0))
    terms = [
        pair_loss(kind, prm, logp[w], logp[l], log_ref[w], log_ref[l], beta_rejected, z0)
        - spec["sft_alpha"] * logp[w]
        for w in spec["chosen"]
        for l in spec["rejected"]
    ]
    return jnp.mean(jnp.stack(terms))


# ---- best-of-N and the tilt (`best_of_n`) --------------------------------------------------


def best_of_n(p, r, n):
    """Exact best-of-N distribution (Fractions): the group of reward r wins with probability
    F(r)^N - F(r-)^N, shared within the group in proportion to p."""
    p = [Fraction(x) for x in p]
    q = [Fraction(0)] * len(p)
    below = Fraction(0)
    for reward in sorted(set(r)):
        group = [i for i, x in enumerate(r) if x == reward]
        mass = sum(p[i] for i in group)
        win = (below + mass) ** n - below**n
        for i in group:
            if mass > 0:
                q[i] = win * p[i] / mass
        below += mass
    return q


def exact_reward_and_kl(q, p, r):
    """E_q[r] (exact, then rounded) and KL(q || p) = sum q ln(q/p) (each ratio exact)."""
    p = [Fraction(x) for x in p]
    reward = float(sum(qi * Fraction(ri) for qi, ri in zip(q, r)))
    kl = math.fsum(float(qi) * log_fraction(qi / pi) for qi, pi in zip(q, p) if qi > 0)
    return reward, kl


def log_fraction(x):
    """ln of a positive Fraction: through its correctly rounded float where that is normal,
    else as ln(numerator) - ln(denominator) (then |ln x| > 690 and the cancellation is harmless)."""
    if Fraction(1, 10**300) < x < 10**300:
        return math.log(float(x))
    return math.log(x.numerator) - math.log(x.denominator)


def tilted(p, r, beta):
    """log q for q proportional to p e^(r/beta), and q, E_q[r], KL(q || p)."""
    p, r = jnp.asarray(p), jnp.asarray(r)
    a = jnp.where(p > 0, jnp.log(jnp.where(p > 0, p, 1.0)) + r / beta, -jnp.inf)
    log_q = a - jax.scipy.special.logsumexp(a)
    q = jnp.exp(log_q)
    kl = jnp.sum(jnp.where(q > 0, q * (log_q - jnp.log(jnp.where(p > 0, p, 1.0))), 0.0))
    return q, jnp.sum(q * r), kl


# ---- Nash dynamics (`nash`) -----------------------------------------------------------------


def normalise(x):
    return x / jnp.sum(x)


def nash_step(method, m, pi, mu, eta, tau):
    """One iteration, in probability space:
    self-play  pi' prop. to pi e^(eta P pi);
    Nash-MD    pi_mu prop. to pi^(1 - eta tau) mu^(eta tau), pi' prop. to pi_mu e^(eta P pi_mu);
    EGPO       pi_half prop. to pi^(1 - eta tau) mu^(eta tau) e^(eta P pi),
               pi' prop. to pi^(1 - eta tau) mu^(eta tau) e^(eta P pi_half)."""
    if method == "self_play":
        return normalise(pi * jnp.exp(eta * (m @ pi)))
    anchor = pi ** (1 - eta * tau) * mu ** (eta * tau)
    if method == "nash_md":
        pi_mu = normalise(anchor)
        return normalise(pi_mu * jnp.exp(eta * (m @ pi_mu)))
    if method == "egpo":
        half = normalise(anchor * jnp.exp(eta * (m @ pi)))
        return normalise(anchor * jnp.exp(eta * (m @ half)))
    raise ValueError(method)


def exploitability(m, pi):
    """max over pi' of P(pi' beats pi) - 1/2 = max_i (P pi)_i - 1/2."""
    return jnp.max(m @ pi) - 0.5
