#!/usr/bin/python3
"""Writes drift/testdata/scipy_cases.json: two-sample cases and the answers
scipy 1.10 / numpy 1.24 (Debian's python3-scipy) give for them, with
Evidently's binning and stattest conventions transcribed from its source
(src/evidently/calculations/stattests/*.py) where a method is Evidently's.

Run with /usr/bin/python3 drift/testdata/gen_fixtures.py. Large samples are
not stored: both sides regenerate them with gen() below, whose integer
arithmetic gives bit-identical floats in Python and Go.
"""
import json
import math
import sys
import warnings

import numpy as np
import pandas as pd
import scipy
from scipy import stats
from scipy.spatial import distance

warnings.simplefilter("ignore")
assert scipy.__version__.startswith("1.10"), scipy.__version__

M32 = 2**32


def splitmix(x):
    """splitmix64's output function, over 64-bit unsigned integers."""
    M = 2**64 - 1
    z = (x * 0x9E3779B97F4A7C15) & M
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return z ^ (z >> 31)


def gen(spec):
    """n values (u1+u2+u3-1.5)*scale + shift, each u = (splitmix(key) >> 32) / 2^32
    (so the sum is exact), then floored to multiples of 1/ties when ties > 0."""
    n, seed = spec["n"], spec["seed"]
    out = []
    for i in range(n):
        key = seed * 2**40 + i * 4
        u1, u2, u3 = ((splitmix(key + k) >> 32) / M32 for k in (1, 2, 3))
        v = (u1 + u2 + u3 - 1.5) * spec.get("scale", 1.0) + spec.get("shift", 0.0)
        if spec.get("ties", 0):
            v = math.floor(v * spec["ties"]) / spec["ties"]
        out.append(v)
    return out


def sample(s):
    return s if isinstance(s, list) else gen(s)


# ---- Evidently's conventions, transcribed ----
def get_binned_data(ref, cur, numeric, fill):
    ref, cur = pd.Series(ref), pd.Series(cur)
    if numeric and ref.nunique() > 20:
        bins = np.histogram_bin_edges(pd.concat([ref, cur], axis=0).values, bins="sturges")
        rp = np.histogram(ref, bins)[0] / len(ref)
        cp = np.histogram(cur, bins)[0] / len(cur)
    else:
        keys = sorted(set(ref.dropna().unique()) | set(cur.dropna().unique()))  # sorted: stable sums
        rd = {**dict.fromkeys(keys, 0), **dict(ref.value_counts())}
        cd = {**dict.fromkeys(keys, 0), **dict(cur.value_counts())}
        rp = np.array([rd[k] / len(ref) for k in keys])
        cp = np.array([cd[k] / len(cur) for k in keys])
    if fill:
        for p in (rp, cp):
            nz = p[p != 0]
            np.place(p, p == 0, min(nz) / 10**6 if min(nz) <= 0.0001 else 0.0001)
    return rp, cp


def psi(ref, cur, numeric):
    rp, cp = get_binned_data(ref, cur, numeric, True)
    return float(sum((r - c) * np.log(r / c) for r, c in zip(rp, cp)))


def kl(ref, cur, numeric):
    rp, cp = get_binned_data(ref, cur, numeric, True)
    return float(stats.entropy(rp, cp))


def js(ref, cur, numeric):
    rp, cp = get_binned_data(ref, cur, numeric, False)
    return float(distance.jensenshannon(rp, cp))


def hellinger(ref, cur, numeric):
    ref, cur = pd.Series(ref), pd.Series(cur)
    keys = sorted(set(ref.unique()) | set(cur.unique()))
    if not numeric:
        r = (ref.value_counts() / len(ref)).to_dict()
        c = (cur.value_counts() / len(cur)).to_dict()
        h = sum(math.sqrt(r.get(k, 0) * c.get(k, 0)) for k in keys)
        return math.sqrt(1 - np.clip(h, 0, 1))
    if len(keys) == 1:
        return 0.0  # Evidently answers 1 here (zero bin width); we answer 0, documented
    bins = np.histogram_bin_edges(keys, bins="sturges")
    h1 = np.histogram(ref.values, bins=bins, density=True)[0]
    h2 = np.histogram(cur.values, bins=bins, density=True)[0]
    bw = (max(keys) - min(keys)) / len(h1)
    h = sum(math.sqrt(a * b) * bw for a, b in zip(h1, h2))
    return math.sqrt(1 - np.clip(h, 0, 1))


def counts(ref, cur):
    keys = sorted(set(ref) | set(cur))
    r = pd.Series(ref).value_counts()
    c = pd.Series(cur).value_counts()
    return [float(r.get(k, 0)) for k in keys], [float(c.get(k, 0)) for k in keys]


def chisquare(ref, cur):
    rc, cc = counts(ref, cur)
    if len(rc) < 2:
        return 0.0, 1.0  # scipy: NaN with no degrees of freedom; documented choice
    k = len(cur) / len(ref)
    s, p = stats.chisquare(cc, [x * k for x in rc])
    return float(s), float(p)


def ztest(ref, cur):
    keys = sorted(set(ref) | set(cur))
    if len(set(ref)) == 1 and len(set(cur)) == 1 and ref[0] == cur[0]:
        return 0.0, 1.0
    key = keys[0]
    r = np.array([0 if x == key else 1 for x in ref])
    c = np.array([0 if x == key else 1 for x in cur])
    n1, n2 = len(r), len(c)
    p1, p2 = r.sum() / n1, c.sum() / n2
    P = (p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / np.sqrt(P * (1 - P) * (1.0 / n1 + 1.0 / n2))
    return float(z), float(2 * (1 - stats.norm.cdf(abs(z))))


def shares(ref, cur):
    rc, cc = counts(ref, cur)
    return np.array(rc) / sum(rc), np.array(cc) / sum(cc)


def auto_method(ref, cur, numeric):
    n_values = pd.concat([pd.Series(ref), pd.Series(cur)]).nunique()
    if len(ref) <= 1000:
        if numeric and n_values > 5:
            return "ks"
        return "chisquare" if n_values > 2 else "z"
    if numeric and n_values > 5:
        return "wasserstein"
    return "jensenshannon"


def opt(f):
    try:
        return f()
    except (ValueError, IndexError, ZeroDivisionError):
        return None


def numeric_case(name, ref, cur):
    r, c = np.array(sample(ref), float), np.array(sample(cur), float)
    out = {"name": name, "kind": "numeric", "ref": ref, "cur": cur}
    ks = stats.ks_2samp(r, c, method="auto")
    out["ks"] = [float(ks.statistic), float(ks.pvalue)]
    out["wasserstein"] = float(stats.wasserstein_distance(r, c))
    out["wasserstein_norm"] = float(stats.wasserstein_distance(r, c) / max(np.std(r), 0.001))
    out["energy"] = float(stats.energy_distance(r, c))
    ad = opt(lambda: stats.anderson_ksamp([r, c]))
    out["anderson"] = None if ad is None or not np.isfinite(ad.statistic) else [float(ad.statistic), float(ad.significance_level)]
    cvm = opt(lambda: stats.cramervonmises_2samp(r, c))
    out["cvm"] = None if cvm is None else [float(cvm.statistic), float(cvm.pvalue)]
    out["psi"] = psi(r, c, True)
    out["kl_div"] = kl(r, c, True)
    out["jensenshannon"] = js(r, c, True)
    out["hellinger"] = hellinger(r, c, True)
    out["chisquare"] = chisquare(list(r), list(c))
    out["z"] = ztest(list(r), list(c)) if len(set(r) | set(c)) <= 2 else None
    out["auto"] = auto_method(r, c, True)
    out["std_ref"] = float(np.std(r))
    return out


def categorical_case(name, ref, cur):
    out = {"name": name, "kind": "categorical", "ref": ref, "cur": cur}
    out["chisquare"] = chisquare(ref, cur)
    out["z"] = ztest(ref, cur) if len(set(ref) | set(cur)) <= 2 else None
    out["psi"] = psi(ref, cur, False)
    out["kl_div"] = kl(ref, cur, False)
    out["jensenshannon"] = js(ref, cur, False)
    out["hellinger"] = hellinger(ref, cur, False)
    rp, cp = shares(ref, cur)
    out["linf"] = float(np.max(np.abs(rp - cp)))
    out["tvd"] = float(0.5 * np.sum(np.abs(rp - cp)))
    out["auto"] = auto_method(ref, cur, False)
    return out


def g(n, seed, **kw):
    return dict(n=n, seed=seed, **kw)


cases = [
    numeric_case("tiny 1 vs 1", [0.5], [1.5]),
    numeric_case("tiny 1 vs 2", [0.5], [0.25, 1.5]),
    numeric_case("tiny 2 vs 2", [0.5, 0.75], [0.25, 1.5]),
    numeric_case("tiny 2 vs 3 ties", [1.0, 2.0], [1.0, 1.0, 2.0]),
    numeric_case("constant equal", [3.0] * 10, [3.0] * 7),
    numeric_case("constant different", [3.0] * 10, [4.0] * 7),
    numeric_case("ties small", [1, 1, 2, 2, 2, 3, 3, 4, 5, 5, 6, 7], [2, 2, 3, 3, 3, 4, 4, 5, 6, 6, 7, 8, 8, 9]),
    numeric_case("binary values", [0.0] * 30 + [1.0] * 20, [0.0] * 18 + [1.0] * 22),
    numeric_case("three values", [0.0] * 30 + [1.0] * 20 + [2.0] * 5, [0.0] * 18 + [1.0] * 22 + [2.0] * 12),
    numeric_case("cvm exact 15 vs 20", g(15, 1), g(20, 2, shift=0.3)),
    numeric_case("cvm exact ties 20 vs 20", g(20, 3, ties=4), g(20, 4, ties=4, shift=0.25)),
    numeric_case("equal n 100", g(100, 5), g(100, 6, shift=0.2)),
    numeric_case("equal n 1000 ties", g(1000, 7, ties=8), g(1000, 8, ties=8, shift=0.05)),
    numeric_case("unequal 300 vs 457", g(300, 9), g(457, 10, scale=1.2)),
    numeric_case("unequal 999 vs 1001 same", g(999, 11), g(1001, 12)),
    numeric_case("unequal 1500 vs 800", g(1500, 13, ties=16), g(800, 14, ties=16, shift=0.5)),
    numeric_case("exact 10000 vs 7001", g(10000, 15), g(7001, 16, shift=0.03)),
    numeric_case("exact equal 10000", g(10000, 17), g(10000, 18, shift=0.02)),
    numeric_case("asymp 10001 vs 3", g(10001, 19), g(3, 20)),
    numeric_case("asymp 10001 vs 60", g(10001, 21), g(60, 22, shift=0.2)),
    numeric_case("asymp 10001 vs 150", g(10001, 23), g(150, 24, shift=0.1)),
    numeric_case("asymp 12000 vs 9000 near", g(12000, 25), g(9000, 26, shift=0.01)),
    numeric_case("asymp 12000 vs 9000 far", g(12000, 27), g(9000, 28, shift=0.1)),
    numeric_case("asymp 30000 vs 25000 same", g(30000, 29), g(25000, 30)),
    numeric_case("wide scale", g(2000, 31, scale=1000.0, shift=5000.0), g(2500, 32, scale=1100.0, shift=5100.0)),
    categorical_case("cat two", ["a"] * 30 + ["b"] * 20, ["a"] * 18 + ["b"] * 22),
    categorical_case("cat same constant", ["a"] * 5, ["a"] * 9),
    categorical_case("cat four", ["a"] * 40 + ["b"] * 30 + ["c"] * 20 + ["d"] * 10, ["a"] * 25 + ["b"] * 30 + ["c"] * 25 + ["d"] * 20),
    categorical_case("cat unseen", ["a"] * 40 + ["b"] * 30, ["a"] * 25 + ["b"] * 30 + ["e"] * 5),
    categorical_case("cat one each", ["x"], ["y"]),
    categorical_case("cat large", ["a"] * 900 + ["b"] * 600 + ["c"] * 3, ["a"] * 700 + ["b"] * 650 + ["c"] * 40 + ["d"] * 1),
]

# kstwo.sf on a grid that reaches every branch of scipy's kolmogn.
kstwo = []
for n in [1, 2, 3, 5, 10, 50, 140, 141, 500, 1000, 5000, 100000, 100001, 400000]:
    for x in [0.0005, 0.002, 0.01, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.45, 0.5, 0.6, 0.9, 1.0 / n + 1e-9, 0.75 / n]:
        if 0 < x < 1:
            kstwo.append([n, x, float(stats.kstwo.sf(x, n))])

def finite(v):
    """JSON has no infinity: +inf is written as the largest double."""
    if isinstance(v, float) and math.isinf(v):
        return sys.float_info.max if v > 0 else -sys.float_info.max
    if isinstance(v, (list, tuple)):
        return [finite(x) for x in v]
    if isinstance(v, dict):
        return {k: finite(x) for k, x in v.items()}
    return v


cases = finite(cases)
json.dump({"scipy": scipy.__version__, "numpy": np.__version__, "cases": cases, "kstwo_sf": kstwo},
          open(sys.argv[1] if len(sys.argv) > 1 else "drift/testdata/scipy_cases.json", "w"), indent=1)
