"""Generate the polynomial tables behind ``autograd.primitives.erf`` / ``erfc``.

A build-time tool (needs mpmath; autograd never imports it). Run

    python tools/erf_coefficients.py

and paste the two printed tables into autograd/primitives.py. Two approximations:

* ``_ERF_SMALL``: erf(x) / x as a polynomial in t = x^2 for |x| < 1.5 (monomials in t,
  highest first, for Horner's rule). Obtained by interpolating erf(x)/x at Chebyshev
  points of t in [0, 2.25], truncating the Chebyshev series where the tail is below
  ``TOLERANCE``, and re-expanding it in powers of t.
* ``_ERFCX``: (a + K) erfcx(a), with erfcx(a) = exp(a^2) erfc(a), for 0 <= a <= 28 as a
  polynomial in u = (ALPHA a - BETA) / (a + K), the affine image onto [-1, 1] of
  y = (a - K) / (a + K) (y runs over [-1, (28 - K) / (28 + K)]). The
  map squeezes [0, inf) into a bounded interval, where erfcx is smooth enough that one
  polynomial of modest degree serves the whole range (past 27.3 erfc underflows, so the
  caller clamps a to 28); the factor a + K (which falls from 4 to ~0.65 over the range)
  keeps the sum within a factor ~6 of its largest term, so Horner's rule loses no
  digits. Same recipe: Chebyshev interpolation in u, truncation, re-expansion in powers
  of u. The caller divides by a + K again. (Computing u as ALPHA - (ALPHA K + BETA) / (a + K)
  would save an operation but doubles the worst error: the two terms cancel.)

Both tables are then rounded to float64 and checked here by evaluating them in float64
(Horner, exactly as primitives.py does) against mpmath on dense grids; the script prints
the worst relative errors.
"""

import mpmath as mp
import numpy as np

mp.mp.dps = 50
TOLERANCE = mp.mpf("1e-17")   # relative truncation error allowed in each table
NODES = 100                   # Chebyshev interpolation points
SMALL_LIMIT = 1.5                     # the erf(x)/x table serves |x| < SMALL_LIMIT
TOP = 28                      # erfcx table serves 0 <= a <= TOP
K = 4                         # the centre of the map y = (a - K) / (a + K)


def chebyshev_coefficients(f, n=NODES):
    """c_j with f(u) ~ sum_j c_j T_j(u) on [-1, 1], by interpolation at n points."""
    nodes = [mp.cos(mp.pi * (k + mp.mpf(1) / 2) / n) for k in range(n)]
    values = [f(u) for u in nodes]
    coefficients = []
    for j in range(n):
        total = mp.fsum(values[k] * mp.cos(mp.pi * j * (k + mp.mpf(1) / 2) / n)
                        for k in range(n))
        coefficients.append(2 * total / n)
    coefficients[0] /= 2
    return coefficients


def truncate(coefficients, smallest):
    """The shortest prefix whose discarded tail sums below TOLERANCE * smallest."""
    for degree in range(len(coefficients)):
        if mp.fsum(abs(c) for c in coefficients[degree + 1:]) < TOLERANCE * smallest:
            return coefficients[:degree + 1]
    raise ValueError("more interpolation points needed")


def to_monomials(coefficients):
    """Power-series coefficients (lowest first) of sum_j c_j T_j(u), via T recurrences."""
    previous, current = [mp.mpf(1)], [mp.mpf(0), mp.mpf(1)]   # T_0, T_1 as monomials
    result = [mp.mpf(0)] * len(coefficients)
    for j, c in enumerate(coefficients):
        polynomial = previous if j == 0 else current
        if j >= 2:
            following = [mp.mpf(0)] + [2 * v for v in current]       # 2u T_{j-1}
            for i, v in enumerate(previous):
                following[i] -= v                                   # - T_{j-2}
            previous, current = current, following
            polynomial = current
        for i, v in enumerate(polynomial):
            result[i] += c * v
    return result


def _times_affine(polynomial, scale, shift):
    out = [mp.mpf(0)] * (len(polynomial) + 1)
    for k, v in enumerate(polynomial):
        out[k] += shift * v
        out[k + 1] += scale * v
    return out


def erfcx(a):
    return mp.exp(a * a) * mp.erfc(a)


def erf_over_x(t):
    if t == 0:
        return 2 / mp.sqrt(mp.pi)
    x = mp.sqrt(t)
    return mp.erf(x) / x


def small_table():
    """erf(x)/x in powers of t = x^2 on [0, SMALL_LIMIT^2]; highest power first."""
    half = mp.mpf(SMALL_LIMIT) ** 2 / 2
    chebyshev = chebyshev_coefficients(lambda u: erf_over_x(half * (u + 1)))
    kept = truncate(chebyshev, erf_over_x(2 * half))
    in_u = to_monomials(kept)
    in_t = _compose(in_u, 1 / half, mp.mpf(-1))              # u = t / half - 1
    return [float(c) for c in reversed(in_t)]


def _compose(monomials, scale, shift):
    """Coefficients in t of p(scale * t + shift) (lowest first)."""
    result = [mp.mpf(0)] * len(monomials)
    power = [mp.mpf(1)]
    for m in monomials:
        for k, v in enumerate(power):
            result[k] += m * v
        power = _times_affine(power, scale, shift)
    return result


def erfcx_map():
    """(ALPHA, BETA, ...): u = (ALPHA a - BETA) / (a + K) maps [0, TOP] onto [-1, 1]."""
    low, high = mp.mpf(-1), (mp.mpf(TOP) - K) / (TOP + K)
    centre, half = (low + high) / 2, (high - low) / 2
    # u = (y - centre) / half with y = (a - K) / (a + K)
    return (1 - centre) / half, K * (1 + centre) / half, centre, half


def erfcx_table():
    _, _, centre, half = erfcx_map()

    def in_u(u):
        y = centre + half * u
        a = K * (1 + y) / (1 - y)
        return (a + K) * erfcx(a)

    chebyshev = chebyshev_coefficients(in_u)
    kept = truncate(chebyshev, min(in_u(mp.mpf(-1)), in_u(mp.mpf(1))))
    return [float(c) for c in reversed(to_monomials(kept))]


def horner(table, v):
    total = np.full_like(v, table[0])
    for c in table[1:]:
        total = total * v + c
    return total


def check(small, large, alpha, beta):
    x = np.linspace(0, SMALL_LIMIT, 20001)[:-1]
    got = x * horner(small, x * x)
    want = np.array([float(mp.erf(mp.mpf(v))) for v in x])
    small_error = np.max(np.abs(got[1:] - want[1:]) / want[1:])
    a = np.concatenate([np.linspace(0, TOP, 20001), np.geomspace(1e-6, 1, 200)])
    w = 1 / (a + K)
    got = horner(large, (alpha * a - beta) * w) * w
    want = np.array([float(erfcx(mp.mpf(v))) for v in a])
    large_error = np.max(np.abs(got - want) / want)
    return small_error, large_error


def table_source(name, values, per_line=3):
    """``name = (v0, v1, ...)`` as Python source, ``per_line`` values a line."""
    indent = " " * (len(name) + 4)
    lines = [", ".join(repr(v) for v in values[i:i + per_line])
             for i in range(0, len(values), per_line)]
    return f"{name} = (" + (",\n" + indent).join(lines) + ")"


def main():
    alpha, beta, _, _ = erfcx_map()
    small, large = small_table(), erfcx_table()
    print(f"# erf(x) / x = sum c t^k, t = x^2, |x| < {SMALL_LIMIT}: degree {len(small) - 1}")
    print(table_source("_ERF_SMALL", small))
    print(f"# (a + {K}) erfcx(a), 0 <= a <= {TOP}, in u = ({float(alpha)!r} a - {float(beta)!r})"
          f" / (a + {K}): degree {len(large) - 1}")
    print(table_source("_ERFCX", large))
    small_error, large_error = check(small, large, float(alpha), float(beta))
    print(f"# float64 Horner vs mpmath, max relative error: erf small {small_error:.2e},"
          f" erfcx {large_error:.2e}")


if __name__ == "__main__":
    main()
