"""Float64 JAX reference for the attention variants of the Softplay kernels.

Each variant is a small function (q, k, v, mask) -> (O, A) written straight from its
formula; `forward_backward` adds the gradients by `jax.vjp` and `row_stats` the per-row
statistics of A. The Rust kernels are checked against fixtures made from this module:

    python3 tools/gen_attention_fixtures.py      # from the repository root

which rewrites kernels/tests/fixtures/attention.{bin,json}. `Rng` mirrors
kernels/src/rng.rs bit for bit so that both sides draw the same inputs.
"""

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

M64 = (1 << 64) - 1


def splitmix64(z):
    z = (z + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


class Rng:
    """PCG32 (XSH RR) seeded through splitmix64, as in kernels/src/rng.rs."""

    def __init__(self, seed):
        self.state, self.inc = 0, ((splitmix64(seed) << 1) | 1) & M64
        self.next_u32()
        self.state = (self.state + splitmix64(seed ^ 0x9E3779B97F4A7C15)) & M64
        self.next_u32()

    def next_u32(self):
        old = self.state
        self.state = (old * 6364136223846793005 + self.inc) & M64
        xorshifted = (((old >> 18) ^ old) >> 27) & 0xFFFFFFFF
        rot = old >> 59
        return ((xorshifted >> rot) | (xorshifted << (-rot & 31))) & 0xFFFFFFFF

    def symmetric(self, count):
        """`count` draws of 2*uniform() - 1; every step is exact in float32."""
        u = [(self.next_u32() >> 8) * 2.0**-24 for _ in range(count)]
        return (2 * np.array(u, dtype=np.float32) - 1).astype(np.float32)


def visible(n, mask):
    """Boolean [n, n] of the keys each row sees, and N_i as float [n, 1]."""
    i, j = np.indices((n, n))
    vis = j <= i if mask == "causal" else np.ones((n, n), bool)
    return jnp.asarray(vis), jnp.asarray(vis.sum(1, keepdims=True), jnp.float64)


def masked_softmax(logits, vis):
    # -inf on hidden keys gives them weight exactly 0 and a zero gradient; the row max
    # is constant for the maths, so it need not be differentiated.
    z = jnp.where(vis, logits, -jnp.inf)
    e = jnp.exp(z - jax.lax.stop_gradient(jnp.max(z, axis=1, keepdims=True)))
    return e / jnp.sum(e, axis=1, keepdims=True)


def softplus(s):
    # jax.nn.softplus (log-add-exp) is overflow-free and its derivative is sigma(s) everywhere;
    # max(s, 0) + log1p(exp(-|s|)) would differentiate to 0 at s = 0 exactly (tie and kink),
    # which the integer "large" inputs hit.
    return jax.nn.softplus(s)


def log_softplus(s):
    # Below -30, log(softplus(s)) = s to 1e-13 relative; the inner where keeps log(0)
    # (and its infinite gradient) out of the unused branch.
    keep = s >= -30
    return jnp.where(keep, jnp.log(softplus(jnp.where(keep, s, 0.0))), s)


def softmax_attn(q, k, v, mask):
    vis, _ = visible(q.shape[0], mask)
    a = masked_softmax(q @ k.T / np.sqrt(q.shape[1]), vis)
    return a @ v, a


def lssa_attn(q, k, v, mask, qknorm, scale):
    n, d = q.shape
    vis, count = visible(n, mask)
    if qknorm:
        q = q / jnp.sqrt(jnp.sum(q * q, axis=1, keepdims=True) + 1e-12)
        k = k / jnp.sqrt(jnp.sum(k * k, axis=1, keepdims=True) + 1e-12)
    c = {"none": 1.0, "invsqrtd": 1 / np.sqrt(d), "lndlnn": np.log(d) * jnp.log(count)}
    a = masked_softmax(log_softplus(c[scale] * (q @ k.T)), vis)
    return a @ v, a


def lssar_attn(q, k, v, mask, p=15):
    _, a = lssa_attn(q, k, v, mask, True, "lndlnn")
    vis, count = visible(q.shape[0], mask)
    offset = jnp.where(jnp.arange(q.shape[0])[:, None] < 3, 0.0, 1.0)
    z = jnp.where(vis, count * a - offset, 0.0)
    zmax = jnp.max(z, axis=1, keepdims=True)
    sharpen = zmax > 0
    # Fallback rows divide by 1 instead of a non-positive max, so no NaN reaches the
    # gradient through the branch that jnp.where discards.
    r = (jax.nn.relu(z) / jnp.where(sharpen, zmax, 1.0)) ** p
    r_sum = jnp.sum(r, axis=1, keepdims=True)
    a = jnp.where(sharpen, r / jnp.where(sharpen, r_sum, 1.0), a)
    return a @ v, a


def sigmoid_attn(q, k, v, mask):
    n, d = q.shape
    vis, _ = visible(n, mask)
    a = jnp.where(vis, jax.nn.sigmoid(q @ k.T / np.sqrt(d) - np.log(n)), 0.0)
    return a @ v, a


def relu_attn(q, k, v, mask):
    n, d = q.shape
    vis, _ = visible(n, mask)
    # jax.nn.relu has derivative 0 at 0 (jnp.maximum would split a tie 0.5/0.5); exact zeros
    # occur with the integer "large" inputs.
    a = jnp.where(vis, jax.nn.relu(q @ k.T / np.sqrt(d)) / n, 0.0)
    return a @ v, a


def elu_plus_one(x):
    # exp only sees non-positive arguments, so the untaken branch cannot overflow. A where, not
    # jnp.minimum, so that the derivative at exactly 0 is 1 rather than a tie split in half.
    return jnp.where(x > 0, x + 1, jnp.exp(jnp.where(x > 0, 0.0, x)))


def linear_attn(q, k, v, mask):
    vis, count = visible(q.shape[0], mask)
    phi = elu_plus_one
    s = jnp.where(vis, phi(q) @ phi(k).T, 0.0)
    total = jnp.sum(s, axis=1, keepdims=True)
    ok = total > 0
    a = jnp.where(ok, s / jnp.where(ok, total, 1.0), jnp.where(vis, 1.0 / count, 0.0))
    return a @ v, a


VARIANTS = {
    "softmax": softmax_attn,
    "lssa:qknorm=1:scale=lndlnn": lambda *x: lssa_attn(*x, True, "lndlnn"),
    "lssa:qknorm=0:scale=invsqrtd": lambda *x: lssa_attn(*x, False, "invsqrtd"),
    "lssa:qknorm=1:scale=none": lambda *x: lssa_attn(*x, True, "none"),
    "lssar:p=15": lssar_attn,
    "sigmoid": sigmoid_attn,
    "relu": relu_attn,
    "linear": linear_attn,
}
NORMALISED = {"softmax", "lssar:p=15", "linear"} | {v for v in VARIANTS if "lssa:" in v}


def forward_backward(variant, mask, q, k, v, dout):
    """O, A and the gradients of L = sum(dout * O) with respect to q, k, v."""
    f = lambda q, k, v: VARIANTS[variant](q, k, v, mask)
    (out, a), pull = jax.vjp(f, q, k, v)
    dq, dk, dv = pull((jnp.asarray(dout), jnp.zeros_like(a)))
    return out, a, dq, dk, dv


def row_stats(a, mask):
    """Entropy, max weight, sink (weight on key 0), row sum and support of each row."""
    a = np.asarray(a)
    vis, count = (np.asarray(x) for x in visible(a.shape[0], mask))
    plogp = np.where(a > 0, a * np.log(np.where(a > 0, a, 1.0)), 0.0)
    return {
        "entropy": -np.sum(np.where(vis, plogp, 0.0), axis=1),
        "max_weight": a.max(axis=1),
        "sink": a[:, 0],
        "row_sum": a.sum(axis=1),
        "support": np.sum(vis & (a > 1.0 / count), axis=1).astype(np.float64),
    }
