"""The Python side of the cold-start comparison: a fresh process that imports
xgboost, loads the model and predicts one row, which is what a Python
function does on its first request. The driver times exec to the line this
prints and checks the probabilities against xgboost's expected ones; a second
line gives the process's peak RSS.

Usage: /usr/bin/python3 coldstart.py MODEL_JSON '{"feature": value, ...}'
"""
import json
import sys

import numpy as np
import xgboost as xgb

booster = xgb.Booster(model_file=sys.argv[1])
row = json.loads(sys.argv[2])
x = np.array([[row[f] for f in booster.feature_names]], dtype=np.float32)
p1 = float(booster.inplace_predict(x)[0])
print(json.dumps({"probabilities": [1.0 - p1, p1]}), flush=True)

# After the answer, so not timed: the process's peak RSS (VmHWM, which
# starts afresh at exec; ru_maxrss carries the parent's peak over the exec).
with open("/proc/self/status") as f:
    kb = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
print(json.dumps({"peak_rss_mb": kb / 1024}))
