#!/usr/bin/env python3
"""Reference SORT Kalman filter steps for @lepton/surveillance's tracker tests.

Usage: python3 packages/surveillance/scripts/make-kalman-fixture.py  (writes test/fixtures/kalman.json)

A numpy transcription of the filter in SORT's reference sort.py (Bewley et al. 2016, KalmanBoxTracker on filterpy's
KalmanFilter): state [u, v, s, r, u', v', s'], measurement [u, v, s, r] from [x1, y1, x2, y2], F, H, R, P, Q as
sort.py sets them, filterpy's predict (x = Fx, P = FPF' + Q) and update (K = PH'S^-1 with S from np.linalg.inv,
Joseph-form covariance), and sort.py's "zero the area velocity if the area would go non-positive" rule.

The sequences are seeded: one object moving at constant velocity with growing size plus Gaussian noise, with some
frames missed (prediction only), and one object shrinking fast enough to trigger the area-velocity rule.
"""
import json
import os

import numpy as np

rng = np.random.default_rng(7)


def to_z(b):  # b = [x1, y1, x2, y2]
    w, h = b[2] - b[0], b[3] - b[1]
    return np.array([b[0] + w / 2.0, b[1] + h / 2.0, w * h, w / float(h)]).reshape((4, 1))


def to_box(x):
    w = np.sqrt(x[2, 0] * x[3, 0])
    h = x[2, 0] / w
    return {"x": x[0, 0] - w / 2.0, "y": x[1, 0] - h / 2.0, "width": w, "height": h}


class SortKalman:
    def __init__(self, b):
        self.F = np.eye(7)
        self.F[0, 4] = self.F[1, 5] = self.F[2, 6] = 1
        self.H = np.zeros((4, 7))
        self.H[:, :4] = np.eye(4)
        self.R = np.eye(4)
        self.R[2:, 2:] *= 10.0
        self.P = np.eye(7)
        self.P[4:, 4:] *= 1000.0
        self.P *= 10.0
        self.Q = np.eye(7)
        self.Q[-1, -1] *= 0.01
        self.Q[4:, 4:] *= 0.01
        self.x = np.zeros((7, 1))
        self.x[:4] = to_z(b)

    def predict(self):
        if self.x[6, 0] + self.x[2, 0] <= 0:
            self.x[6, 0] *= 0.0
        self.x = self.F @ self.x
        self.P = self.F @ self.P @ self.F.T + self.Q

    def update(self, b):
        y = to_z(b) - self.H @ self.x
        S = self.H @ self.P @ self.H.T + self.R
        K = self.P @ self.H.T @ np.linalg.inv(S)
        self.x = self.x + K @ y
        A = np.eye(7) - K @ self.H
        self.P = A @ self.P @ A.T + K @ self.R @ K.T


def sequence(name, start, velocity, growth, noise, frames, missed):
    x1, y1, w, h = start
    boxes = []
    for f in range(frames):
        cx = x1 + w / 2 + velocity[0] * f + rng.normal(0, noise)
        cy = y1 + h / 2 + velocity[1] * f + rng.normal(0, noise)
        ww = max(2.0, w * growth ** f + rng.normal(0, noise))
        hh = max(2.0, h * growth ** f + rng.normal(0, noise))
        boxes.append(None if f in missed else [cx - ww / 2, cy - hh / 2, cx + ww / 2, cy + hh / 2])
    kf = SortKalman(boxes[0])
    steps = [{"detection": as_box(boxes[0]), "predicted": None, "estimate": to_box(kf.x), "state": kf.x[:, 0].tolist()}]
    for b in boxes[1:]:
        kf.predict()
        predicted = to_box(kf.x)
        if b is not None:
            kf.update(b)
        steps.append({"detection": as_box(b), "predicted": predicted, "estimate": to_box(kf.x), "state": kf.x[:, 0].tolist(),
                      "covarianceDiagonal": np.diag(kf.P).tolist()})
    return {"name": name, "steps": steps}


def as_box(b):
    return None if b is None else {"x": b[0], "y": b[1], "width": b[2] - b[0], "height": b[3] - b[1]}


sequences = [
    sequence("walker with misses", (100.0, 50.0, 40.0, 100.0), (4.0, 1.5), 1.01, 1.0, 16, {5, 9, 10}),
    sequence("steady car", (300.0, 200.0, 120.0, 60.0), (-6.0, 0.5), 1.0, 0.5, 10, set()),
    sequence("shrinking fast", (50.0, 50.0, 60.0, 60.0), (1.0, 1.0), 0.7, 0.2, 10, {6, 7, 8}),
]
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "kalman.json")
with open(out, "w") as f:
    json.dump({"generator": "scripts/make-kalman-fixture.py", "seed": 7, "sequences": sequences}, f, separators=(",", ":"))
    f.write("\n")
print(f"wrote {len(sequences)} sequences to {os.path.normpath(out)}")
