#!/usr/bin/env python3
"""Reference optimal assignments for @lepton/surveillance's linearSumAssignment tests.

Usage: python3 packages/surveillance/scripts/make-assignment-fixture.py  (writes test/fixtures/assignment.json)

Every cost matrix is drawn from a seeded numpy generator and solved here by independent means:
  * plain cases: scipy.optimize.linear_sum_assignment (every row of the smaller side assigned);
  * cases with forbidden pairs (null in the JSON = +Infinity, or entries above `maxCost`), whose meaning is "the most
    allowed pairs, then the least total cost": by brute force over every partial matching for small matrices, and for
    larger ones by scipy on the matrix with forbidden entries replaced by a cost larger than any allowed total (the
    brute-force cases check that this reduction means the same thing).
Matrices with continuous entries have a unique optimum, so rows/cols are compared exactly; `tiesPossible` marks
integer matrices where only the cost is unique.
"""
import itertools
import json
import os

import numpy as np
from scipy.optimize import linear_sum_assignment

rng = np.random.default_rng(20240917)
cases = []


def add(name, cost, rows, cols, total, max_cost=None, ties=False):
    cases.append({
        "name": name,
        "cost": [[None if not np.isfinite(v) else float(v) for v in row] for row in cost],
        "maxCost": max_cost,
        "rows": [int(r) for r in rows],
        "cols": [int(c) for c in cols],
        "cost_total": float(total),
        "tiesPossible": ties,
    })


def allowed(cost, max_cost):
    ok = np.isfinite(cost)
    if max_cost is not None:
        ok &= cost <= max_cost
    return ok


def brute(cost, max_cost):
    n, m = cost.shape
    ok = allowed(cost, max_cost)
    best = (-1, np.inf, None)
    # every row picks a distinct column or nothing (-1)
    for choice in itertools.product(range(-1, m), repeat=n):
        used = [c for c in choice if c >= 0]
        if len(used) != len(set(used)) or any(not ok[i, c] for i, c in enumerate(choice) if c >= 0):
            continue
        k = len(used)
        total = sum(cost[i, c] for i, c in enumerate(choice) if c >= 0)
        if k > best[0] or (k == best[0] and total < best[1] - 1e-12):
            best = (k, total, choice)
    rows = [i for i, c in enumerate(best[2]) if c >= 0]
    return rows, [best[2][i] for i in rows], best[1]


def reduced(cost, max_cost):
    ok = allowed(cost, max_cost)
    vals = cost[ok]
    # one forbidden pair costs more than any difference in allowed totals (entries here are ≥ 0)
    big = (vals.max() - vals.min() + 1) * (min(cost.shape) + 1) + vals.max() if vals.size else 1.0
    r, c = linear_sum_assignment(np.where(ok, cost, big))
    keep = ok[r, c]
    return r[keep], c[keep], cost[r[keep], c[keep]].sum()


# 1. plain matrices, square and rectangular, continuous entries (unique optimum)
for n, m in [(1, 1), (2, 2), (3, 3), (5, 5), (8, 8), (3, 7), (7, 3), (10, 15), (15, 10), (20, 20), (40, 25), (25, 40), (45, 45)]:
    cost = rng.uniform(0, 100, size=(n, m))
    r, c = linear_sum_assignment(cost)
    add(f"uniform {n}x{m}", cost, r, c, cost[r, c].sum())
# negative and wide-ranging values
for n, m in [(6, 6), (9, 4)]:
    cost = rng.normal(0, 1e3, size=(n, m))
    r, c = linear_sum_assignment(cost)
    add(f"normal {n}x{m}", cost, r, c, cost[r, c].sum())
# small integers: ties, only the total is unique
for n, m in [(6, 6), (8, 5), (12, 12)]:
    cost = rng.integers(0, 4, size=(n, m)).astype(float)
    r, c = linear_sum_assignment(cost)
    add(f"integer ties {n}x{m}", cost, r, c, cost[r, c].sum(), ties=True)

# 2. forbidden pairs: brute force on small matrices (both encodings), scipy reduction on larger ones
for n, m in [(3, 3), (4, 5), (5, 4), (5, 5), (2, 6), (6, 2)]:
    for p in (0.3, 0.6, 0.9):
        cost = rng.uniform(0, 1, size=(n, m))
        forbid = rng.uniform(size=(n, m)) < p
        inf_cost = np.where(forbid, np.inf, cost)
        r, c, t = brute(inf_cost, None)
        r2, c2, t2 = reduced(inf_cost, None)
        assert list(r) == list(r2) and list(c) == list(c2) and abs(t - t2) < 1e-9, (r, c, r2, c2)
        add(f"infinity {n}x{m} p={p}", inf_cost, r, c, t)
        max_cost = 0.5
        r, c, t = brute(cost, max_cost)
        add(f"maxCost {n}x{m} p={p}", cost, r, c, t, max_cost=max_cost)
# the case where "solve, then drop" loses a match: the full optimum uses a forbidden pair
tricky = np.array([[0.1, 0.2], [0.15, np.inf]])
r, c, t = brute(tricky, None)
assert list(r) == [0, 1] and list(c) == [1, 0]
add("most matches before least cost", tricky, r, c, t)
for n, m in [(12, 12), (20, 14), (14, 20), (30, 30)]:
    cost = rng.uniform(0, 1, size=(n, m))
    cost[rng.uniform(size=(n, m)) < 0.7] = np.inf
    r, c, t = reduced(cost, None)
    add(f"infinity {n}x{m} p=0.7 (scipy)", cost, r, c, t)
all_forbidden = np.full((3, 4), np.inf)
add("all forbidden", all_forbidden, [], [], 0.0)

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "assignment.json")
with open(out, "w") as f:
    json.dump({"generator": "scripts/make-assignment-fixture.py", "seed": 20240917, "cases": cases}, f, indent=None, separators=(",", ":"))
    f.write("\n")
print(f"wrote {len(cases)} cases to {os.path.normpath(out)}")
