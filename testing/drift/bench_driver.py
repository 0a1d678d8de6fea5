#!/usr/bin/python3
"""Runs the Go report (testing/drift/benchdrift) and the scipy/numpy script
(testing/drift/compare_scipy.py) on the same shape of data and prints both and
the ratios. Usage: bench_driver.py GO_BINARY [ROWS] [COLS]"""
import json
import subprocess
import sys

go_bin = sys.argv[1]
rows = sys.argv[2] if len(sys.argv) > 2 else "1000000"
cols = sys.argv[3] if len(sys.argv) > 3 else "20"
go = json.loads(subprocess.run([go_bin, "-rows", rows, "-cols", cols], check=True, capture_output=True, text=True).stdout)
py = json.loads(subprocess.run(["/usr/bin/python3", "testing/drift/compare_scipy.py", rows, cols],
                               check=True, capture_output=True, text=True).stdout)
print(f"drift report, {rows} rows x {cols} numeric features, reference and current:")
for r in (go, py):
    print(f"  {r['impl']:6s} {r['seconds']:8.3f} s   peak RSS {r['peak_rss_mb']:7.0f} MB   "
          f"extra RSS during the computation {r['extra_rss_mb']:7.0f} MB")
print(f"  Go is {py['seconds'] / go['seconds']:.1f}x faster; its extra memory is "
      f"{go['extra_rss_mb'] / max(py['extra_rss_mb'], 1):.2f} of scipy's")
