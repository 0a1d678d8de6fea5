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
    print(f"  {r['impl']:6s} {r['seconds']:8.3f} s wall  {r['cpu_seconds']:8.3f} s CPU   peak RSS {r['peak_rss_mb']:6.0f} MB   "
          f"extra RSS during the computation {r['extra_rss_mb']:5.0f} MB")
print(f"  Go is {py['seconds'] / go['seconds']:.1f}x faster in wall time ({py['cpu_seconds'] / go['cpu_seconds']:.1f}x in CPU time, "
      f"Go using {go['gomaxprocs']} threads); its extra memory is {go['extra_rss_mb'] / max(py['extra_rss_mb'], 1):.2f} of scipy's")
with open("/proc/loadavg") as f:
    print(f"  load average during the run: {f.read().split()[0]} (other work on the machine slows both)")
