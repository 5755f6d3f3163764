#!/usr/bin/python3
"""Baseline for the finance benchmark: scikit-learn's HistGradientBoostingClassifier on the exact feature rows and
time-ordered split that bench/finance.ts wrote as CSV (label first; Debian python3-sklearn). Prints one JSON object."""
import json
import sys
import time

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score, roc_auc_score

train = np.loadtxt(f"{sys.argv[1]}/train.csv", delimiter=",", dtype=np.float64)
test = np.loadtxt(f"{sys.argv[1]}/test.csv", delimiter=",", dtype=np.float64)
x_train, y_train = train[:, 1:].astype(np.float32), train[:, 0].astype(int)
x_test, y_test = test[:, 1:].astype(np.float32), test[:, 0].astype(int)
t0 = time.perf_counter()
clf = HistGradientBoostingClassifier(random_state=0, class_weight="balanced").fit(x_train, y_train)
fit_s = time.perf_counter() - t0
p = clf.predict_proba(x_test)[:, 1]
json.dump({
    "model": "HistGradientBoostingClassifier(class_weight='balanced')",
    "sklearn": __import__("sklearn").__version__,
    "pr_auc": float(average_precision_score(y_test, p)),
    "roc_auc": float(roc_auc_score(y_test, p)),
    "fit_seconds": fit_s,
}, sys.stdout)
