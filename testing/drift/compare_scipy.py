#!/usr/bin/python3
"""The scipy/numpy side of `make bench-drift`: reference and current tables of
ROWS rows x COLS numeric features (normal; the current shifted by 0.05 in every
other column) and, per column, what the Go report computes: ks_2samp with its
p-value, wasserstein_distance normalised by the reference std, PSI and
Jensen-Shannon on Evidently's Sturges bins over the pooled values. Prints
wall and CPU seconds and memory as JSON (peak RSS from resource.getrusage; extra = the rise
during the computation, above the data itself).

Usage: /usr/bin/python3 testing/drift/compare_scipy.py [ROWS] [COLS]
"""
import json
import resource
import sys
import time

import numpy as np
from scipy import stats
from scipy.spatial import distance


def fill_zeroes(p):
    nz = p[p != 0]
    np.place(p, p == 0, min(nz) / 10**6 if min(nz) <= 0.0001 else 0.0001)


def column(r, c):
    ks = stats.ks_2samp(r, c)
    wd = stats.wasserstein_distance(r, c) / max(np.std(r), 0.001)
    bins = np.histogram_bin_edges(np.concatenate([r, c]), bins="sturges")
    rp = np.histogram(r, bins)[0] / len(r)
    cp = np.histogram(c, bins)[0] / len(c)
    js = distance.jensenshannon(rp, cp)
    fill_zeroes(rp)
    fill_zeroes(cp)
    psi = float(np.sum((rp - cp) * np.log(rp / cp)))
    return ks.statistic, ks.pvalue, wd, psi, js


def main():
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    cols = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    rng = np.random.default_rng(1)
    ref = rng.standard_normal((cols, rows))
    cur = rng.standard_normal((cols, rows))
    cur[1::2] += 0.05  # in place: no temporary table raises the baseline
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    before = r0.ru_maxrss / 1024
    start = time.perf_counter()
    drifted = sum(1 for j in range(cols) if column(ref[j], cur[j])[2] >= 0.1)
    secs = time.perf_counter() - start
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    after = r1.ru_maxrss / 1024
    cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    print(json.dumps({"impl": "scipy", "rows": rows, "cols": cols, "seconds": secs, "cpu_seconds": cpu,
                      "peak_rss_mb": after, "extra_rss_mb": after - before, "drifted": drifted}))


if __name__ == "__main__":
    main()
