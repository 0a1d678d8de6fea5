#!/usr/bin/python3
"""Writes drift/perf/testdata/sklearn_cases.json: labelled predictions and
scikit-learn 1.2's metrics for them. Run: /usr/bin/python3 drift/perf/testdata/gen_perf.py"""
import json
import sys

import numpy as np
import sklearn
from sklearn import metrics

assert sklearn.__version__.startswith("1.2"), sklearn.__version__
rng = np.random.default_rng(42)
cases = []

for name, n, rounding in [("binary", 500, None), ("binary ties", 800, 1), ("binary small", 7, None)]:
    truth = rng.integers(0, 2, n)
    score = np.clip(0.35 * truth + rng.random(n) * 0.65, 0, 1)
    if rounding is not None:
        score = np.round(score, rounding)
    if name == "binary small":
        score[0] = 0.0  # clipped by log_loss
        truth[0] = 1
    pred = (score >= 0.5).astype(int)
    t, p = [str(x) for x in truth], [str(x) for x in pred]
    cases.append({"name": name, "task": "binary", "positive": "1", "truth": t, "pred": p, "score": score.tolist(), "metrics": {
        "accuracy": metrics.accuracy_score(t, p),
        "precision": metrics.precision_score(t, p, pos_label="1", zero_division=0),
        "recall": metrics.recall_score(t, p, pos_label="1", zero_division=0),
        "f1": metrics.f1_score(t, p, pos_label="1", zero_division=0),
        "roc_auc": metrics.roc_auc_score(truth, score),
        "log_loss": metrics.log_loss(truth, score),
    }})

classes = np.array(["cat", "dog", "emu"])
truth = classes[rng.integers(0, 3, 600)]
pred = np.where(rng.random(600) < 0.7, truth, classes[rng.integers(0, 3, 600)])
pred[:5] = "fox"  # a label only predicted
t, p = truth.tolist(), pred.tolist()
cases.append({"name": "multiclass", "task": "multiclass", "positive": "", "truth": t, "pred": p, "metrics": {
    "accuracy": metrics.accuracy_score(t, p),
    "precision": metrics.precision_score(t, p, average="macro", zero_division=0),
    "recall": metrics.recall_score(t, p, average="macro", zero_division=0),
    "f1": metrics.f1_score(t, p, average="macro", zero_division=0),
}})

for name, y, yhat in [
    ("regression", rng.normal(10, 3, 700), None),
    ("regression constant exact", np.full(10, 2.5), np.full(10, 2.5)),
    ("regression constant off", np.full(10, 2.5), np.full(10, 3.0)),
]:
    if yhat is None:
        yhat = y + rng.normal(0, 1, len(y))
    cases.append({"name": name, "task": "regression", "y": y.tolist(), "yhat": yhat.tolist(), "metrics": {
        "mae": metrics.mean_absolute_error(y, yhat),
        "rmse": float(np.sqrt(metrics.mean_squared_error(y, yhat))),
        "r2": metrics.r2_score(y, yhat),
    }})

json.dump({"sklearn": sklearn.__version__, "cases": cases},
          open(sys.argv[1] if len(sys.argv) > 1 else "drift/perf/testdata/sklearn_cases.json", "w"), indent=1)
