#!/usr/bin/python3
"""Train small XGBoost models on scikit-learn's bundled datasets and write
xgboost's own predictions, the reference the Go runtime must match to 1e-5.

Run with Debian's python3 (python3-xgboost 1.7.4, python3-sklearn):
    /usr/bin/python3 runtime/xgboost/testdata/gen.py
Outputs, per case: <case>.model.json (Booster.save_model) and
<case>.expected.json ({"features": [...], "rows": [[...]], "predictions": [[...]]},
NaN written as null). Missing values are injected on purpose so the
default_left paths are exercised.
"""
import json
import os

import numpy as np
import xgboost as xgb
from sklearn import datasets

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(7)


def with_missing(X, share=0.05):
    X = X.astype(np.float64).copy()
    mask = rng.random(X.shape) < share
    X[mask] = np.nan
    return X


def write(case, booster, X, names):
    booster.save_model(os.path.join(HERE, case + ".model.json"))
    pred = booster.predict(xgb.DMatrix(X, missing=np.nan, feature_names=names))
    pred = np.asarray(pred, dtype=np.float64)
    if pred.ndim == 1:
        pred = pred[:, None]
    rows = [[None if np.isnan(v) else float(v) for v in r] for r in X]
    with open(os.path.join(HERE, case + ".expected.json"), "w") as f:
        json.dump({"xgboost": xgb.__version__, "objective": json.loads(booster.save_config())["learner"]["objective"]["name"],
                   "features": names, "rows": rows, "predictions": pred.tolist()}, f)


def train(case, X, y, params, rounds, names, Xeval=None):
    X = with_missing(X)
    d = xgb.DMatrix(X, label=y, missing=np.nan, feature_names=names)
    params = dict(params, seed=1, nthread=1)
    b = xgb.train(params, d, num_boost_round=rounds)
    write(case, b, X if Xeval is None else Xeval, names)


def clean(names):
    return [n.replace(" ", "_") for n in names]


bc = datasets.load_breast_cancer()
train("binary_logistic", bc.data, bc.target,
      {"objective": "binary:logistic", "max_depth": 4, "eta": 0.3}, 40, clean(bc.feature_names))
train("binary_logitraw", bc.data, bc.target,
      {"objective": "binary:logitraw", "max_depth": 3, "base_score": 0.3}, 20, clean(bc.feature_names))

wine = datasets.load_wine()
train("multi_softprob", wine.data, wine.target,
      {"objective": "multi:softprob", "num_class": 3, "max_depth": 3}, 25, clean(wine.feature_names))
train("multi_softmax", wine.data, wine.target,
      {"objective": "multi:softmax", "num_class": 3, "max_depth": 3}, 25, clean(wine.feature_names))

dia = datasets.load_diabetes()
train("reg_squarederror", dia.data, dia.target,
      {"objective": "reg:squarederror", "max_depth": 5, "eta": 0.1}, 60, clean(dia.feature_names))
y01 = (dia.target - dia.target.min()) / (dia.target.max() - dia.target.min())
train("reg_logistic", dia.data, y01,
      {"objective": "reg:logistic", "max_depth": 4}, 30, clean(dia.feature_names))
train("count_poisson", dia.data, np.round(dia.target / 10),
      {"objective": "count:poisson", "max_depth": 3}, 30, clean(dia.feature_names))
train("dart_binary", bc.data, bc.target,
      {"objective": "binary:logistic", "booster": "dart", "max_depth": 3, "rate_drop": 0.1, "skip_drop": 0.0}, 20,
      clean(bc.feature_names))
