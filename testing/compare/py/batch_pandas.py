"""The pandas + xgboost side of the batch comparison: read a CSV, score every
row, write the same rows plus prediction columns (as modelfn's batch does,
except the per-row prediction id, which this side skips). Prints wall and CPU
seconds of the work itself (imports excluded) and the process's peak RSS as
JSON.

Usage: /usr/bin/python3 batch_pandas.py MODEL_JSON INPUT_CSV OUTPUT_CSV
"""
import json
import sys
import time

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
    print(json.dumps({"rows": len(df), "seconds": time.perf_counter() - t0,
                      "cpu_seconds": time.process_time() - c0,
                      "peak_rss_mb": peak_rss_mb()}))


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
