#!/usr/bin/env python3
"""Independent reference for the Western Electric / Nelson run rules (numpy only).

Written from the textbook definitions (Western Electric Statistical Quality Control Handbook, 1956; L. S. Nelson,
"The Shewhart control chart - tests for special causes", JQT 16(4), 1984; Montgomery, Introduction to Statistical
Quality Control, 8th ed., section 5.3.6), not from the TypeScript implementation. Numbering is Nelson's. With
z = (x - centre) / sigma, a rule is judged on the window of consecutive points that ends at point i, and a violation
is reported at i, the point that completes the pattern:

  1  one point beyond the control limits (x > UCL or x < LCL)
  2  `run` points in a row strictly on the same side of the centre line (z > 0 all, or z < 0 all); 9 for Nelson,
     8 for the Western Electric handbook
  3  six points in a row steadily increasing, or steadily decreasing (each strictly above / below the one before)
  4  fourteen points in a row alternating up and down (thirteen non-zero differences of alternating sign)
  5  two out of three points in a row beyond 2 sigma on the same side of the centre line; the point reported is one of
     those points (z_i > 2 with at least two of the three > 2, or z_i < -2 with at least two < -2)
  6  four out of five points in a row beyond 1 sigma on the same side; the point reported is one of them
  7  fifteen points in a row within 1 sigma of the centre line (|z| < 1), on either side
  8  eight points in a row beyond 1 sigma (|z| > 1) with points on both sides of the centre line (none within 1 sigma)

"Beyond" and "within" are strict. A rule needs a full window: nothing is reported before the k-th point of a k-point
pattern. The Western Electric rule set is Nelson's 1, 5, 6 and 2 with a run of 8.

Writes packages/manufacturing/test/fixtures/spc-rules.json: seeded random series (several regimes, so that every
rule fires and ties sit exactly on zone boundaries) with the violations each rule set must report.

    python3 packages/manufacturing/test/reference/spc_rules.py
"""
import json
import pathlib

import numpy as np

SEED = 20260515
SERIES = 100
OUT = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "spc-rules.json"


def violations(x, centre, sigma, ucl, lcl, rules, run):
    x = np.asarray(x, dtype=np.float64)
    z = (x - centre) / sigma
    d = np.sign(np.diff(x))  # d[i - 1] is the step into point i
    out = []
    for i in range(len(x)):
        def win(k):
            return z[i + 1 - k : i + 1] if i + 1 >= k else None

        if 1 in rules and (x[i] > ucl or x[i] < lcl):
            out.append((1, i))
        if 2 in rules:
            w = win(run)
            if w is not None and (np.all(w > 0) or np.all(w < 0)):
                out.append((2, i))
        if 3 in rules and i >= 5:
            steps = d[i - 5 : i]
            if np.all(steps > 0) or np.all(steps < 0):
                out.append((3, i))
        if 4 in rules and i >= 13:
            steps = d[i - 13 : i]
            if np.all(steps != 0) and np.all(steps[1:] == -steps[:-1]):
                out.append((4, i))
        if 5 in rules:
            w = win(3)
            if w is not None and ((z[i] > 2 and np.sum(w > 2) >= 2) or (z[i] < -2 and np.sum(w < -2) >= 2)):
                out.append((5, i))
        if 6 in rules:
            w = win(5)
            if w is not None and ((z[i] > 1 and np.sum(w > 1) >= 4) or (z[i] < -1 and np.sum(w < -1) >= 4)):
                out.append((6, i))
        if 7 in rules:
            w = win(15)
            if w is not None and np.all(np.abs(w) < 1):
                out.append((7, i))
        if 8 in rules:
            w = win(8)
            if w is not None and np.all(np.abs(w) > 1) and np.any(w > 0) and np.any(w < 0):
                out.append((8, i))
    return sorted(out, key=lambda v: (v[1], v[0]))


def block(rng, length):
    """One stretch of a series in sigma units: each regime makes some rule likely to fire."""
    kind = rng.integers(0, 8)
    t = np.arange(length)
    if kind == 0:  # in control
        return rng.normal(0, 1, length)
    if kind == 1:  # sustained shift (rules 2, 5, 6)
        return rng.choice([-1, 1]) * rng.uniform(0.8, 2.6) + rng.normal(0, 0.7, length)
    if kind == 2:  # trend (rule 3)
        return rng.uniform(-3, 3) + rng.choice([-1, 1]) * 0.3 * t + rng.normal(0, 0.05, length)
    if kind == 3:  # alternation (rule 4)
        return np.where(t % 2 == 0, 1, -1) * rng.uniform(0.2, 1.5) + rng.normal(0, 0.05, length)
    if kind == 4:  # hugging the centre line (rule 7)
        return rng.normal(0, 0.35, length)
    if kind == 5:  # mixture: both sides, none near the centre (rule 8)
        return rng.choice([-1, 1], length) * rng.uniform(1.05, 2.5, length)
    if kind == 6:  # outliers on alternating sides, e.g. +4.91, +5.73, -7.28 (rules 1, 5 and 6 side checks)
        return rng.choice([-1, 1], length) * rng.uniform(1.5, 8, length)
    # sitting on zone boundaries and repeating values (strictness of every comparison)
    return rng.choice([-3, -2, -1, 0, 1, 2, 3, 2.5, -2.5, 1.5, -1.5], length).astype(np.float64)


def series(rng, index):
    length = int(rng.integers(30, 90))
    parts, n = [], 0
    while n < length:
        b = block(rng, int(rng.integers(4, 26)))
        parts.append(b)
        n += len(b)
    z = np.concatenate(parts)[:length]
    if index % 2 == 0:
        # Unit chart with values on a 0.5 grid where the block is quantised, else 2 decimals: exact ties with the zones.
        centre, sigma = 0.0, 1.0
        x = np.round(z, 2)
    else:
        centre = float(np.round(rng.uniform(-100, 100), 3))
        sigma = float(np.round(rng.uniform(0.05, 10), 3))
        x = np.round(centre + sigma * z, 6)
    return centre, sigma, [float(v) for v in x]


def main():
    rng = np.random.default_rng(SEED)
    cases = []
    we, nelson = [1, 5, 6, 2], [1, 2, 3, 4, 5, 6, 7, 8]
    # The case from the issue first: rule 5 must not fire at the -7.28 point.
    fixed = [(0.0, 1.0, [0.1, -0.3, 4.91, 5.73, -7.28, 0.2, -2.5, -2.6, 2.7])]
    for i in range(SERIES):
        fixed.append(series(rng, i))
    for centre, sigma, x in fixed:
        ucl, lcl = centre + 3 * sigma, centre - 3 * sigma
        cases.append(
            {
                "center": centre,
                "sigma": sigma,
                "ucl": ucl,
                "lcl": lcl,
                "points": x,
                "westernElectric": [list(v) for v in violations(x, centre, sigma, ucl, lcl, we, 8)],
                "nelson": [list(v) for v in violations(x, centre, sigma, ucl, lcl, nelson, 9)],
            }
        )
    fired = {r: sum(1 for c in cases for v in c["nelson"] if v[0] == r) for r in range(1, 9)}
    assert all(n > 0 for n in fired.values()), f"every rule must fire somewhere: {fired}"
    doc = {
        "generator": "packages/manufacturing/test/reference/spc_rules.py",
        "seed": SEED,
        "note": "violations as [rule, index], sorted by index then rule; Western Electric = rules 1, 5, 6, 2 with a run of 8",
        "firedPerRule": fired,
        "cases": cases,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"wrote {OUT} ({len(cases)} series, violations per Nelson rule {fired})")


if __name__ == "__main__":
    main()
