"""The pandas + xgboost side of the batch comparison: read a CSV, score every
row, write the same rows plus prediction columns (as modelfn's batch does,
except the per-row prediction id, which this side skips). Prints wall and CPU
seconds of the work itself (imports excluded) and the process's peak RSS as
JSON.

With LOG_DIR it also logs every row as modelfn's batch does by default, so
the two can be compared doing the same work: a JSON line per row (an id,
the time, model, version, source, the features, the prediction; flat, as
pandas writes records, with its default 10 significant digits), gzipped at
zlib's fastest level, 50,000 records an object, each object's frame cut
from the scored one as it is written so the log adds one object's memory.

Usage: /usr/bin/python3 batch_pandas.py MODEL_JSON INPUT_CSV OUTPUT_CSV [LOG_DIR]
"""
import json
import os
import sys
import time
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import xgboost as xgb

CLASSES = np.array(["malignant", "benign"])


def main():
    model, src, dst = sys.argv[1:4]
    booster = xgb.Booster(model_file=model)
    t0, c0 = time.perf_counter(), time.process_time()
    df = pd.read_csv(src)
    p1 = booster.inplace_predict(df[booster.feature_names])
    df["prediction"] = CLASSES[(p1 >= 0.5).astype(int)]
    df["probability_malignant"] = 1.0 - p1.astype(np.float64)
    df["probability_benign"] = p1.astype(np.float64)
    df.to_csv(dst, index=False)
    if len(sys.argv) > 4:
        write_log(df, booster.feature_names, sys.argv[4])
    print(json.dumps({"rows": len(df), "seconds": time.perf_counter() - t0,
                      "cpu_seconds": time.process_time() - c0,
                      "peak_rss_mb": peak_rss_mb()}))


PART_RECORDS = 50_000


def write_log(df, features, folder):
    ts = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    columns = features + ["prediction", "probability_malignant", "probability_benign"]
    for part, start in enumerate(range(0, len(df), PART_RECORDS)):
        rows = df.iloc[start:start + PART_RECORDS][columns]
        n = len(rows)
        ids = np.frombuffer(os.urandom(16 * n).hex().encode(), dtype="S32").astype("U32")  # random, as uuid4
        rows = rows.assign(id=ids, ts=ts, model="breast-cancer", version="1", source="batch")
        rows.to_json(os.path.join(folder, f"part-{part:06d}.json.gz"), orient="records", lines=True,
                     compression={"method": "gzip", "compresslevel": 1})


def peak_rss_mb():
    """VmHWM, which starts afresh at exec (ru_maxrss carries the parent's
    peak over the exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("/proc/self/status has no VmHWM")


if __name__ == "__main__":
    main()
