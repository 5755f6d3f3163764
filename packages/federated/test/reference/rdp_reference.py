#!/usr/bin/env python3
"""Reference values for @lepton/federated's RDP accountant (packages/federated/src/accountant.ts).

Independent of the TypeScript code: A_alpha of the sampled Gaussian mechanism (Mironov, Talwar, Zhang 2019) is computed

  * by the binomial expansion in 60-digit arithmetic (mpmath), and
  * by numerical integration of its definition, E_{z~mu0}[(mu(z)/mu0(z))^alpha] with mu0 = N(0, s^2) and
    mu = (1-q) N(0, s^2) + q N(1, s^2) (mpmath.quad), asserted to agree with the expansion,

and (epsilon, delta) uses the conversion of Balle et al. 2020, Prop. 12 (as dp_accounting / Opacus do), written here
from the formula. Run from the repository root:

  python3 packages/federated/test/reference/rdp_reference.py > packages/federated/test/fixtures/federated/rdp-reference.json
"""
import json
import math

import mpmath
import numpy as np

mpmath.mp.dps = 60

ORDERS = list(range(2, 65)) + [72, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 512, 768, 1024]


def log_a_binomial(q, sigma, alpha):
    q, s = mpmath.mpf(q), mpmath.mpf(sigma)
    total = mpmath.mpf(0)
    for k in range(alpha + 1):
        total += mpmath.binomial(alpha, k) * (1 - q) ** (alpha - k) * q ** k * mpmath.exp((k * k - k) / (2 * s * s))
    return mpmath.log(total)


def log_a_integral(q, sigma, alpha):
    q, s = mpmath.mpf(q), mpmath.mpf(sigma)

    def f(z):
        ratio = (1 - q) + q * mpmath.exp((2 * z - 1) / (2 * s * s))
        return mpmath.npdf(z, 0, s) * ratio ** alpha

    # The integrand has mass near 0 and, when the mixture term dominates, near z = alpha: split there.
    pts = sorted({-mpmath.inf, -10 * s, 0, mpmath.mpf(alpha) / 2, alpha - 10 * s, alpha, alpha + 10 * s, mpmath.inf})
    return mpmath.log(mpmath.quad(f, pts, maxdegree=10))


def rdp(q, sigma, alpha):
    if q == 0:
        return 0.0
    if q == 1:
        return alpha / (2 * sigma * sigma)
    return float(log_a_binomial(q, sigma, alpha) / (alpha - 1))


def epsilon(rdps, orders, delta):
    best, best_order = math.inf, orders[0]
    for a, r in zip(orders, rdps):
        if r < 0 or delta ** 2 + math.expm1(-r) > 0:
            e = 0.0
        elif math.isinf(r):
            e = math.inf
        else:
            e = r + math.log1p(-1 / a) - math.log(delta * a) / (a - 1)
        if e < best:
            best, best_order = e, a
    return max(0.0, best), best_order


def main():
    # 1. The binomial expansion equals the integral definition (checked here, not in TypeScript).
    for q, s, a in [(0.01, 2.5, 5), (0.01, 4.0, 32), (0.1, 1.0, 8), (0.5, 0.8, 3), (0.004, 1.1, 64), (0.2, 2.0, 20)]:
        b, i = log_a_binomial(q, s, a), log_a_integral(q, s, a)
        assert abs(b - i) <= mpmath.mpf('1e-12') * max(1, abs(b)), (q, s, a, b, i)

    # 2. Per-step RDP at selected orders.
    rdp_cases = []
    for q, s, orders in [
        (0.01, 2.5, [2, 5, 50, 100]),
        (0.01, 4.0, [2, 8, 32, 64, 256]),
        (0.1, 1.0, [2, 3, 10, 40]),
        (256 / 60000, 1.1, [2, 4, 16, 64, 1024]),
        (0.5, 0.8, [2, 3, 7]),
        (1.0, 0.898, [2, 10, 100]),
    ]:
        rdp_cases.append({'q': q, 'sigma': s, 'orders': orders, 'rdp': [rdp(q, s, a) for a in orders]})

    # 3. (epsilon, delta) after composition, over the accountant's default orders.
    eps_cases = []
    for name, q, s, steps, delta in [
        ('Abadi et al. 2016 setting, sigma 2', 0.01, 2.0, 10_000, 1e-5),
        ('Abadi et al. 2016 setting, sigma 4', 0.01, 4.0, 10_000, 1e-5),
        ('Abadi et al. 2016 setting, sigma 8', 0.01, 8.0, 10_000, 1e-5),
        ('TF-Privacy MNIST tutorial: batch 256 of 60000, sigma 1.1, 60 epochs', 256 / 60000, 1.1, 14_062, 1e-5),
        ('sampled, q 0.1, sigma 1, 100 steps', 0.1, 1.0, 100, 1e-6),
        ('federated, every partner every round, z_eff 0.898, 10 rounds', 1.0, 0.898, 10, 1e-5),
        ('federated, z 5, 50 rounds', 1.0, 5.0, 50, 1e-6),
    ]:
        per = [rdp(q, s, a) for a in ORDERS]
        total = [r * steps for r in per]
        e, order = epsilon(total, ORDERS, delta)
        eps_cases.append({'name': name, 'q': q, 'sigma': s, 'steps': steps, 'delta': delta, 'epsilon': e, 'order': order})

    # 4. Effective noise multiplier of a weighted sum (numpy, from the definition: noise std / max influence).
    eff_cases = []
    for weights, clip, z, n in [([1, 1], 1.0, 1.1, 3), ([30, 10], 1.0, 1.1, 3), ([1, 1, 1], 0.5, 0.8, 3), ([5, 1, 1, 1], 2.0, 1.0, 6)]:
        w = np.array(weights, dtype=float) / sum(weights)
        sd = z * clip / math.sqrt(n)
        eff = float(math.sqrt(np.sum((w * sd) ** 2)) / np.max(w * clip))
        eff_cases.append({'samples': weights, 'clipNorm': clip, 'noiseMultiplier': z, 'planned': n, 'effective': eff})

    print(json.dumps({'orders': ORDERS, 'rdp': rdp_cases, 'epsilon': eps_cases, 'effectiveNoise': eff_cases}, indent=2))


if __name__ == '__main__':
    main()
