"""The FastAPI + uvicorn + xgboost side of `make bench-compare`: the predict
endpoint a Python team would otherwise deploy, answering the same JSON shape
as modelfn's POST /predict.

    MODELFN_MODEL=examples/breast-cancer/model.json \
      /usr/bin/python3 -m uvicorn app:app --app-dir testing/compare/py --workers 1

Written to give Python its best chance, not a strawman: an `async def`
endpoint (no thread-pool hop for CPU-bound work), Booster.inplace_predict
(no DMatrix), one xgboost thread (one worker, one core, as modelfn is run
with GOMAXPROCS=1), uvloop and httptools when installed. It validates what
modelfn validates on this path: types (pydantic), missing and unknown
features, the row limit. It keeps no prediction log (modelfn does).
"""
import os
import uuid
from typing import Dict, List

import numpy as np
import xgboost as xgb
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

CLASSES = ["malignant", "benign"]
MAX_ROWS = 10_000

booster = xgb.Booster(model_file=os.environ.get("MODELFN_MODEL", "examples/breast-cancer/model.json"))
booster.set_param({"nthread": 1})
FEATURES = booster.feature_names
KNOWN = frozenset(FEATURES)

app = FastAPI()


class PredictRequest(BaseModel):
    instances: List[Dict[str, float]]


@app.post("/predict")
async def predict(req: PredictRequest):
    rows = req.instances
    if not rows:
        raise HTTPException(422, "instances: empty")
    if len(rows) > MAX_ROWS:
        raise HTTPException(413, f"{len(rows)} rows: at most {MAX_ROWS}")
    x = np.empty((len(rows), len(FEATURES)), dtype=np.float32)
    for i, row in enumerate(rows):
        if row.keys() != KNOWN:
            missing, unknown = KNOWN - row.keys(), row.keys() - KNOWN
            raise HTTPException(422, f"row {i}: missing {sorted(missing)}, unknown {sorted(unknown)}")
        x[i] = [row[f] for f in FEATURES]
    p1 = booster.inplace_predict(x)  # binary:logistic: P(class 1)
    return {
        "model": "breast-cancer",
        "version": "1",
        "predictions": [
            {"id": str(uuid.uuid4()), "label": CLASSES[int(p >= 0.5)],
             "probabilities": {CLASSES[0]: 1.0 - float(p), CLASSES[1]: float(p)}}
            for p in p1
        ],
    }
