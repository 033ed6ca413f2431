"""Float64 JAX reference for the activation functions of the Softplay kernels.

Each activation is a scalar function f(x, **params) written straight from its formula
(swiglu and geglu take two inputs; polynorm works on a whole [rows, h] matrix, since it
normalises each row); the derivatives come from jax.grad / jax.vjp in the generator:

    python3 tools/gen_activation_fixtures.py      # from the repository root

which rewrites kernels/tests/fixtures/activations.json.

Kinks at x = 0: jax.nn.relu has derivative 0 at 0 (a custom JVP), the convention the Rust
side uses too, so relu, squared_relu and polyrelu (which reach x only through relu) give
f'(0) = 0 in the fixtures. The `where(x > 0, ...)` forms below take the left branch at 0,
so leaky_relu'(0) = alpha, elu'(0) = alpha and crrelu'(0) = eps; the fixtures leave x = 0
out for those (and for rational with b1 != 0) rather than fix a convention.
"""

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import erfc

jax.config.update("jax_enable_x64", True)


# The tails are part of the fixtures (x up to +-100, values down to 1e-44), so every formula
# below avoids cancellation in its value and, through custom JVPs, in its derivative: JAX
# differentiates sigmoid as s(1 - s), tanh as 1 - t^2 and expm1 as e + 1, which all round to
# 0 in a tail where the true derivative is tiny but representable.


@jax.custom_jvp
def sigmoid(x):
    return jax.nn.sigmoid(x)


sigmoid.defjvps(lambda g, s, x: g * s * jax.nn.sigmoid(-x))


@jax.custom_jvp
def tanh(x):
    return jnp.tanh(x)


tanh.defjvps(lambda g, t, x: g / jnp.cosh(x) ** 2)


@jax.custom_jvp
def expm1(x):
    return jnp.expm1(x)


expm1.defjvps(lambda g, e, x: g * jnp.exp(x))


def relu(x):
    return jax.nn.relu(x)


def leaky_relu(x, alpha=0.01):
    return jnp.where(x > 0, x, alpha * x)


def elu(x, alpha=1.0):
    # The inner where keeps exp away from large x in the branch that is thrown away.
    return jnp.where(x > 0, x, alpha * expm1(jnp.where(x > 0, 0.0, x)))


def gelu(x):
    # 1 + erf(x / sqrt 2) = erfc(-x / sqrt 2), which keeps the negative tail (gelu(-10) = -8e-23).
    return 0.5 * x * erfc(-x / np.sqrt(2))


def gelu_tanh(x):
    # 0.5 (1 + tanh(u)) = sigmoid(2u), for the same reason.
    return x * sigmoid(2 * np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))


def silu(x, beta=1.0):
    return x * sigmoid(beta * x)


def softplus(x, beta=1.0):
    # log(1 + e^z), z = beta x, as logaddexp(0, z): the naive form overflows float32 once
    # z > 88.7 (x > 17.7 at beta = 5). For z > 0 it is z + log(1 + e^-z), so that d/dbeta does
    # not come out as the difference of two numbers near x. At z = 0 the second branch gives
    # f' = sigma(0) = 1/2.
    z = beta * x
    return jnp.where(z > 0, x + jnp.logaddexp(0.0, -z) / beta, jnp.logaddexp(0.0, z) / beta)


def mish(x):
    return x * tanh(softplus(x))


def squared_relu(x):
    r = relu(x)
    return r * r


def polyrelu(x, a):
    # Horner in r = relu(x): no 0**0 or 0**-1 in the derivative at r = 0.
    r = relu(x)
    return a[0] + r * (a[1] + r * (a[2] + r * a[3]))


def polynorm(x, a):
    """x: [rows, h]. a0 + sum_i a_i * rms(x^i), each power normalised over its own row."""

    def rms(u):
        return u / jnp.sqrt(jnp.mean(u * u, axis=1, keepdims=True) + 1e-6)

    return a[0] + sum(a[i] * rms(x**i) for i in (1, 2, 3))


def crrelu(x, eps=0.01):
    return relu(x) + eps * x * jnp.exp(-0.5 * x * x)


def rational(x, a, b):
    """P(x) / Q(x), P = sum_j a_j x^j (j = 0..5), Q = 1 + sum_k |b_k| |x|^k (k = 1..4)."""
    p = a[5]
    for j in (4, 3, 2, 1, 0):
        p = p * x + a[j]
    # |b| as sign(b) b: jnp.abs differentiates to +1 at b = 0, and the fixtures have b_k = 0;
    # sign(b) b gives 0 there, as PyTorch's abs and the Rust kernels (sign0) do. In x the
    # choice only matters at x = 0 with b1 != 0, a kink the fixtures leave out.
    ax = jnp.abs(x)
    q = 1 + sum(jnp.sign(b[k - 1]) * b[k - 1] * ax**k for k in (1, 2, 3, 4))
    return p / q


# efficient-kan's spline grid: G = 5 intervals over [-1, 1], cubic (order K = 3), extended by
# K knots on each side, t_j = -1 + (j - 3) h for j = 0..11, computed in the same order.
KAN_G, KAN_K = 5, 3
KAN_KNOTS = np.arange(-KAN_K, KAN_G + KAN_K + 1) * (2.0 / KAN_G) + -1.0


def bsplines(x, t=KAN_KNOTS, order=KAN_K):
    """The len(t) - order - 1 B-splines of `order` at scalar x, by Cox-de Boor."""
    b = ((t[:-1] <= x) & (x < t[1:])).astype(jnp.float64)
    for k in range(1, order + 1):
        left = (x - t[: -(k + 1)]) / (t[k:-1] - t[: -(k + 1)]) * b[:-1]
        right = (t[k + 1 :] - x) / (t[k + 1 :] - t[1:-k]) * b[1:]
        b = left + right
    return b


def kan(x, w_b, w_s, c):
    return w_b * silu(x) + w_s * jnp.dot(c, bsplines(x))


def swiglu(a, b, beta=1.0):
    return silu(a, beta) * b


def geglu(a, b):
    return gelu(a) * b


ELEMENTWISE = {
    f.__name__: f
    for f in (relu, leaky_relu, elu, gelu, gelu_tanh, silu, softplus, mish, sigmoid, tanh)
    + (squared_relu, polyrelu, crrelu, rational, kan)
}
TWO_INPUT = {"swiglu": swiglu, "geglu": geglu}
