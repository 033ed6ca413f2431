"""The Activations lab's default rational unit: P(x)/Q(x), P of degree 5,
Q(x) = 1 + sum_k |b_k| |x|^k (k = 1..4), fitted to GELU on [-4, 4] by least squares
(scipy's Levenberg-Marquardt from P = x/2, Q = 1), then rounded to 4 decimals: the numbers
in app/src/state/labs.rs (RATIONAL_INIT_P, RATIONAL_INIT_Q).
Run: python3 tools/fit_rational.py
"""
import math

import numpy as np
from scipy.optimize import least_squares

x = np.linspace(-4.0, 4.0, 801)
gelu = np.array([0.5 * v * (1.0 + math.erf(v / math.sqrt(2.0))) for v in x])


def unit(c):
    a, b = c[:6], np.abs(c[6:])
    p = sum(a[i] * x**i for i in range(6))
    q = 1.0 + sum(b[k - 1] * np.abs(x) ** k for k in range(1, 5))
    return p / q


start = np.array([0.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
fit = least_squares(lambda c: unit(c) - gelu, start, method="lm", max_nfev=20000)
c = np.round(np.concatenate([fit.x[:6], np.abs(fit.x[6:])]), 4)
print("a =", [float(v) for v in c[:6]])
print("b =", [float(v) for v in c[6:]])
print("largest |P/Q - GELU| on [-4, 4]:", float(np.max(np.abs(unit(c) - gelu))))
