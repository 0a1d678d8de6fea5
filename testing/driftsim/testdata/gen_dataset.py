#!/usr/bin/python3
"""Export scikit-learn's bundled breast-cancer data (Wisconsin diagnostic,
569 rows, 30 numeric features, target 0 = malignant, 1 = benign) for the
drift simulator. Run with Debian's python3-sklearn (1.2.1):

    /usr/bin/python3 testing/driftsim/testdata/gen_dataset.py [OUT.csv]

Writes breast_cancer.csv beside this script (or OUT.csv): the features under
scikit-learn's own names (the example model's names too) and the target,
values as %.6g (reading them back gives scikit-learn's float64 values
exactly). The output is deterministic; it is committed.
"""
import os
import sys

from sklearn.datasets import load_breast_cancer

HERE = os.path.dirname(os.path.abspath(__file__))
data = load_breast_cancer(as_frame=True)
frame = data.data.copy()
frame["target"] = data.target.values
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "breast_cancer.csv")
frame.to_csv(out, index=False, float_format="%.6g", lineterminator="\n")
