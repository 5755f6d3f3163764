#!/usr/bin/env python3
"""Reference control-chart constants for subgroup sizes 2-25 with SciPy (scipy.integrate, scipy.special).

Independent of the TypeScript (which integrates the distribution function of the range): here d2 and d3 come from the
joint density of the sample minimum u and maximum v of n standard normals,

    f(u, v) = n (n - 1) phi(u) phi(v) (Phi(v) - Phi(u))^(n - 2),   u < v,

    d2 = E[W] = integral of (v - u) f,    E[W^2] = integral of (v - u)^2 f,    d3 = sqrt(E[W^2] - d2^2),

by adaptive Gauss-Kronrod quadrature (scipy.integrate.dblquad), with the range w = v - u as the outer variable. Checked
against the closed forms d2(2) = 2/sqrt(pi), d3(2) = sqrt(2 - 4/pi), d2(3) = 3/sqrt(pi) and against Tippett's single
integral d2 = integral of 1 - Phi^n - (1 - Phi)^n. c4 from the gamma function; the factors from their definitions
(Montgomery, Introduction to Statistical Quality Control, Appendix VI):

    A2 = 3 / (d2 sqrt(n))   A3 = 3 / (c4 sqrt(n))   D3 = max(0, 1 - 3 d3 / d2)   D4 = 1 + 3 d3 / d2
    B3 = max(0, 1 - 3 sqrt(1 - c4^2) / c4)   B4 = 1 + 3 sqrt(1 - c4^2) / c4

Writes packages/manufacturing/test/fixtures/chart-constants.json:

    python3 packages/manufacturing/test/reference/chart_constants.py
"""
import json
import math
import pathlib

import numpy as np
import scipy
from scipy import integrate, special

OUT = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "chart-constants.json"
LIM = 12.0  # |x| > 12 carries probability < 4e-33
TOL = dict(epsabs=1e-13, epsrel=1e-12)


def range_moments(n):
    def density(u, w):  # joint density of (min u, range w): f(u, u + w)
        v = u + w
        return n * (n - 1) * np.exp(-(u * u + v * v) / 2) / (2 * math.pi) * (special.ndtr(v) - special.ndtr(u)) ** (n - 2)

    # dblquad(func(y, x), x range, y range): x = w (outer), y = u (inner)
    m1, e1 = integrate.dblquad(lambda u, w: w * density(u, w), 0, 2 * LIM, -LIM, LIM, **TOL)
    m2, e2 = integrate.dblquad(lambda u, w: w * w * density(u, w), 0, 2 * LIM, -LIM, LIM, **TOL)
    mass, _ = integrate.dblquad(density, 0, 2 * LIM, -LIM, LIM, **TOL)
    assert abs(mass - 1) < 1e-10, (n, mass)
    tippett, _ = integrate.quad(lambda x: 1 - special.ndtr(x) ** n - special.ndtr(-x) ** n, -LIM, LIM, epsabs=1e-14, epsrel=1e-13, limit=200)
    assert abs(tippett - m1) < 1e-10, (n, tippett, m1)
    return m1, math.sqrt(m2 - m1 * m1), max(e1, e2)


def main():
    rows = []
    for n in range(2, 26):
        d2, d3, err = range_moments(n)
        c4 = math.sqrt(2 / (n - 1)) * math.exp(special.gammaln(n / 2) - special.gammaln((n - 1) / 2))
        s = math.sqrt(1 - c4 * c4) / c4
        rows.append(
            {
                "n": n,
                "d2": d2,
                "d3": d3,
                "c4": c4,
                "A2": 3 / (d2 * math.sqrt(n)),
                "A3": 3 / (c4 * math.sqrt(n)),
                "D3": max(0.0, 1 - 3 * d3 / d2),
                "D4": 1 + 3 * d3 / d2,
                "B3": max(0.0, 1 - 3 * s),
                "B4": 1 + 3 * s,
                "quadratureErrorEstimate": err,
            }
        )
        print(f"n={n:2d} d2={d2:.10f} d3={d3:.10f} c4={c4:.10f}")
    assert abs(rows[0]["d2"] - 2 / math.sqrt(math.pi)) < 1e-11
    assert abs(rows[0]["d3"] - math.sqrt(2 - 4 / math.pi)) < 1e-10
    assert abs(rows[1]["d2"] - 3 / math.sqrt(math.pi)) < 1e-11
    doc = {"generator": "packages/manufacturing/test/reference/chart_constants.py", "scipy": scipy.__version__, "constants": rows}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
