#!/usr/bin/python3
"""Train the example model: an XGBoost classifier on scikit-learn's bundled
breast-cancer data (Debian's python3-xgboost 1.7.4 and python3-sklearn).

    /usr/bin/python3 examples/breast-cancer/train.py

Writes, beside this script:
  model.json     the booster (save_model), feature names recorded
  reference.csv  the training rows with their target (0 = malignant, 1 = benign)
  holdout.csv    held-out rows, same distribution: the monitor should stay quiet
  drifted.csv    held-out rows with a shift injected into the size and
                 texture features (a recalibrated scanner: sizes read 40%
                 larger, textures 6 units higher): the monitor should raise
                 dataset and feature drift alarms
  request.json   one /predict request body
  expected.json  xgboost's own probabilities for holdout.csv (end-to-end check)
"""
import json
import os

import numpy as np
import xgboost as xgb
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

HERE = os.path.dirname(os.path.abspath(__file__))
data = load_breast_cancer(as_frame=True)
X, y = data.data, data.target
Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=42, stratify=y)

clf = xgb.XGBClassifier(n_estimators=60, max_depth=4, learning_rate=0.2, random_state=42, n_jobs=1)
clf.fit(Xtr, ytr)
clf.get_booster().save_model(os.path.join(HERE, "model.json"))


def write(df, target, name):
    out = df.copy()
    out["target"] = target.values
    out.to_csv(os.path.join(HERE, name), index=False, float_format="%.6g")


write(Xtr, ytr, "reference.csv")
write(Xte, yte, "holdout.csv")
drifted = Xte.copy()
for kind in ["mean", "worst"]:
    for col in ["radius", "perimeter", "area"]:
        drifted[kind + " " + col] = drifted[kind + " " + col] * 1.4
    drifted[kind + " texture"] = drifted[kind + " texture"] + 6
for col in ["radius error", "perimeter error", "area error", "texture error"]:
    drifted[col] = drifted[col] * 1.4
write(drifted, yte, "drifted.csv")

# What xgboost itself answers for the rows as written to holdout.csv.
hold = __import__("pandas").read_csv(os.path.join(HERE, "holdout.csv"))
proba = clf.predict_proba(hold.drop(columns=["target"]))
with open(os.path.join(HERE, "expected.json"), "w") as f:
    json.dump({"xgboost": xgb.__version__, "classes": ["malignant", "benign"],
               "probabilities": [[float(a), float(b)] for a, b in proba]}, f)

row = hold.drop(columns=["target"]).iloc[0]
with open(os.path.join(HERE, "request.json"), "w") as f:
    json.dump({"instances": [{k: float(v) for k, v in row.items()}]}, f, indent=1)
print("wrote model.json, reference.csv (%d rows), holdout.csv and drifted.csv (%d rows)" % (len(Xtr), len(Xte)))
