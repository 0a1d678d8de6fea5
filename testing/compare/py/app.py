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
features, the row limit.

It keeps no prediction log unless MODELFN_LOG_DIR names a folder; then it
logs every prediction there as modelfn does by default, so the two can be
compared doing the same work: a JSON line per prediction with the same
fields (compact, through one C-accelerated encoder), gzipped through zlib
at its fastest level as the requests come, 10,000 records an object.
"""
import json
import os
import time
import uuid
import zlib
from datetime import datetime, timezone
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


class Log:
    """JSON lines, gzipped, OBJECT_RECORDS records an object."""

    OBJECT_RECORDS = 10_000
    encode = json.JSONEncoder(separators=(",", ":")).encode

    def __init__(self, folder):
        self.folder, self.objects, self.records, self.file = folder, 0, 0, None

    def add(self, records):
        if self.file is None:
            self.objects += 1
            self.file = open(os.path.join(self.folder, f"part-{self.objects:06d}.json.gz"), "wb")
            self.gz = zlib.compressobj(1, zlib.DEFLATED, 31)  # wbits 31: a gzip member
        self.file.write(self.gz.compress("".join(self.encode(r) + "\n" for r in records).encode()))
        self.records += len(records)
        if self.records >= self.OBJECT_RECORDS:
            self.close()

    def close(self):
        if self.file is not None:
            self.file.write(self.gz.flush())
            self.file.close()
            self.file, self.records = None, 0


log = Log(os.environ["MODELFN_LOG_DIR"]) if os.environ.get("MODELFN_LOG_DIR") else None


@app.on_event("shutdown")
def close_log():
    if log is not None:
        log.close()


class PredictRequest(BaseModel):
    instances: List[Dict[str, float]]


@app.post("/predict")
async def predict(req: PredictRequest):
    start = time.perf_counter()
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
    predictions = [
        {"id": str(uuid.uuid4()), "label": CLASSES[int(p >= 0.5)],
         "probabilities": {CLASSES[0]: 1.0 - float(p), CLASSES[1]: float(p)}}
        for p in p1
    ]
    if log is not None:
        ts = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        latency = round((time.perf_counter() - start) * 1000, 3)
        log.add([{"id": p["id"], "ts": ts, "model": "breast-cancer", "version": "1", "source": "http",
                  "features": row, "prediction": {"label": p["label"], "probabilities": p["probabilities"]},
                  "latency_ms": latency} for row, p in zip(rows, predictions)])
    return {"model": "breast-cancer", "version": "1", "predictions": predictions}
