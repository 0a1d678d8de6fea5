#!/usr/bin/python3
"""Small ai.onnx.ml graphs that exercise each operator's attributes (tree
node modes, missing-value tracking, aggregates, post transforms, the binary
cases, base values, label types; linear models; encoders and scalers), with
inputs in cases.json. Their expected outputs are not stored: the test runs
each through onnxruntime (testing/onnx/ortrun.js), the reference.

    /usr/bin/python3 runtime/onnx/testdata/mlops/gen.py
"""
import json
import math
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ML = "ai.onnx.ml"
CASES = {}
RNG = np.random.RandomState(7)

TYPES = {TensorProto.FLOAT: "float32", TensorProto.DOUBLE: "float64", TensorProto.INT64: "int64",
         TensorProto.INT32: "int32", TensorProto.STRING: "string"}


def jsonable(v):
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    return v


def case(name, nodes, inputs, outputs, feeds, ml=3, onnx_opset=15, inits=()):
    g = helper.make_graph(nodes, name, inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", onnx_opset), helper.make_opsetid(ML, ml)])
    m.ir_version = 8
    onnx.save(m, os.path.join(HERE, name + ".onnx"))
    f = {}
    for vi in inputs:
        arr = feeds[vi.name]
        t = vi.type.tensor_type.elem_type
        data = arr.ravel().tolist()
        f[vi.name] = {"type": TYPES[t], "dims": list(arr.shape), "data": [jsonable(v) for v in data]}
    CASES[name] = {"model": name + ".onnx", "feeds": f}


def X(rows=12, cols=3, nan=True, dtype=np.float32):
    x = RNG.uniform(-2, 2, size=(rows, cols)).round(1)
    x[1, 0] = 0.5  # on a threshold
    x[2, 1] = -0.5
    if nan:
        x[3, 0] = np.nan
        x[4, 2] = np.nan
    return x.astype(dtype)


def tvi(name, t, shape):
    return helper.make_tensor_value_info(name, t, shape)


# Three trees over three features: modes, missing tracking, weights.
NODES = dict(
    nodes_treeids=[0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2],
    nodes_nodeids=[0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2],
    nodes_featureids=[0, 1, 0, 0, 0, 2, 0, 1, 0, 0, 1, 0, 0],
    nodes_modes=["BRANCH_LEQ", "BRANCH_LT", "LEAF", "LEAF", "LEAF",
                 "BRANCH_GTE", "BRANCH_EQ", "LEAF", "LEAF", "LEAF",
                 "BRANCH_NEQ", "LEAF", "LEAF"],
    nodes_values=[0.5, -0.5, 0, 0, 0, 0.3, 0.5, 0, 0, 0, -0.5, 0, 0],
    nodes_truenodeids=[1, 2, 0, 0, 0, 1, 2, 0, 0, 0, 1, 0, 0],
    nodes_falsenodeids=[4, 3, 0, 0, 0, 4, 3, 0, 0, 0, 2, 0, 0],
    nodes_missing_value_tracks_true=[1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0],
)
LEAVES = [(0, 2), (0, 3), (0, 4), (1, 2), (1, 3), (1, 4), (2, 1), (2, 2)]
GT_NODES = dict(NODES, nodes_modes=[m if m == "LEAF" else "BRANCH_GT" for m in NODES["nodes_modes"]])


def leaf_weights(prefix, targets, ids=None, positive=False):
    a = {prefix + "treeids": [], prefix + "nodeids": [], prefix + "ids": [], prefix + "weights": []}
    for k, (t, n) in enumerate(LEAVES):
        for c in (ids if ids is not None else range(targets)):
            w = RNG.uniform(0.05, 0.6) if positive else RNG.uniform(-1, 1)
            a[prefix + "treeids"].append(t)
            a[prefix + "nodeids"].append(n)
            a[prefix + "ids"].append(c)
            a[prefix + "weights"].append(round(float(w), 3))
    return a


def regressors():
    for name, targets, agg, post, base, nodes in [
        ("reg_sum", 1, "SUM", "NONE", [0.5], NODES),
        ("reg_avg2_base", 2, "AVERAGE", "NONE", [1.0, -1.0], NODES),
        ("reg_min2", 2, "MIN", "NONE", [], NODES),
        ("reg_max2_base", 2, "MAX", "NONE", [0.25, 0.5], NODES),
        ("reg_min1", 1, "MIN", "NONE", [0.1], NODES),
        ("reg_logistic2", 2, "SUM", "LOGISTIC", [], GT_NODES),
        ("reg_softmax3", 3, "SUM", "SOFTMAX", [0.1, 0.2, 0.3], NODES),
        ("reg_softmax_zero3", 3, "MAX", "SOFTMAX_ZERO", [], NODES),
        ("reg_probit1", 1, "AVERAGE", "PROBIT", [0.5], NODES),
    ]:
        attrs = dict(nodes, **leaf_weights("target_", targets, positive=(post == "PROBIT")))
        if post == "PROBIT":
            attrs["target_weights"] = [w / 5 for w in attrs["target_weights"]]
        if base:
            attrs["base_values"] = base
        n = helper.make_node("TreeEnsembleRegressor", ["X"], ["Y"], domain=ML, n_targets=targets,
                             aggregate_function=agg, post_transform=post, **attrs)
        case(name, [n], [tvi("X", TensorProto.FLOAT, [None, 3])], [tvi("Y", TensorProto.FLOAT, [None, targets])],
             {"X": X()})
    # Doubles: thresholds, weights and base values as tensors.
    attrs = dict(NODES, **leaf_weights("target_", 2))
    vals = attrs.pop("nodes_values")
    w = attrs.pop("target_weights")
    n = helper.make_node("TreeEnsembleRegressor", ["X"], ["Y"], domain=ML, n_targets=2,
                         nodes_values_as_tensor=numpy_helper.from_array(np.array(vals, dtype=np.float64)),
                         target_weights_as_tensor=numpy_helper.from_array(np.array(w, dtype=np.float64) / 3),
                         base_values_as_tensor=numpy_helper.from_array(np.array([0.1, 1e-9], dtype=np.float64)), **attrs)
    case("reg_double_tensors", [n], [tvi("X", TensorProto.DOUBLE, [None, 3])], [tvi("Y", TensorProto.FLOAT, [None, 2])],
         {"X": X(dtype=np.float64) + 1e-12})


def classifiers():
    specs = [
        # name, labels, class ids, post, base, positive weights
        ("cls_multi_softmax", [0, 1, 2], None, "SOFTMAX", [0.1, -0.2, 0.3], False),
        ("cls_multi_none_partial", [3, 5, 7, 9], [0, 2], "NONE", [], False),
        ("cls_multi_logistic_strings", ["a", "b", "c"], None, "LOGISTIC", [], False),
        ("cls_multi_softmax_zero", [0, 1, 2], [1, 2], "SOFTMAX_ZERO", [], False),
        ("cls_binary_rf", [0, 1], [0], "NONE", [], True),
        ("cls_binary_gb", [0, 1], [0], "LOGISTIC", [-0.4], False),
        ("cls_binary_gb_none", [10, 20], [0], "NONE", [0.2], False),
        ("cls_binary_noise_strings", ["no", "yes"], [0], "NONE", [], False),
        ("cls_binary_two_ids", [0, 1], None, "LOGISTIC", [], False),
        ("cls_binary_base2", [0, 1], [1], "NONE", [0.3, 0.3], False),
        ("cls_binary_base2_both", [0, 1], None, "SOFTMAX", [0.3, -0.3], False),
        ("cls_binary_probit", [0, 1], [0], "PROBIT", [], True),
    ]
    for name, labels, ids, post, base, pos in specs:
        attrs = dict(NODES, **leaf_weights("class_", len(labels), ids, positive=pos))
        if post == "PROBIT":
            attrs["class_weights"] = [w / 3 for w in attrs["class_weights"]]
        if isinstance(labels[0], str):
            attrs["classlabels_strings"] = labels
            lt = TensorProto.STRING
        else:
            attrs["classlabels_int64s"] = labels
            lt = TensorProto.INT64
        if base:
            attrs["base_values"] = base
        n = helper.make_node("TreeEnsembleClassifier", ["X"], ["Y", "Z"], domain=ML, post_transform=post, **attrs)
        case(name, [n], [tvi("X", TensorProto.FLOAT, [None, 3])],
             [tvi("Y", lt, [None]), tvi("Z", TensorProto.FLOAT, [None, len(labels)])], {"X": X()})


def tree_v5():
    # Two trees: a membership split and a LEQ chain; leaves in their own lists.
    common = dict(
        n_targets=2, tree_roots=[0, 2],
        nodes_featureids=[0, 1, 2, 0],
        nodes_modes=numpy_helper.from_array(np.array([6, 0, 3, 1], dtype=np.uint8)),
        nodes_splits=numpy_helper.from_array(np.array([0, -0.5, 0.3, 0.5], dtype=np.float32)),
        membership_values=numpy_helper.from_array(np.array([1, -1, np.nan], dtype=np.float32)),
        nodes_truenodeids=[1, 0, 3, 2], nodes_trueleafs=[0, 1, 0, 1],
        nodes_falsenodeids=[1, 1, 4, 3], nodes_falseleafs=[1, 1, 1, 1],
        nodes_missing_value_tracks_true=[0, 1, 0, 0],
        leaf_targetids=[0, 1, 0, 1, 1],
        leaf_weights=numpy_helper.from_array(np.array([0.5, -0.25, 1.5, 0.75, -1.0], dtype=np.float32)),
    )
    x = X()
    x[5, 0], x[6, 0], x[7, 0] = -1, 1, 2
    for name, agg, post in [("v5_sum", 1, 0), ("v5_avg_post1", 0, 1), ("v5_max_post2", 3, 2), ("v5_min", 2, 0)]:
        n = helper.make_node("TreeEnsemble", ["X"], ["Y"], domain=ML, aggregate_function=agg, post_transform=post, **common)
        case(name, [n], [tvi("X", TensorProto.FLOAT, [None, 3])], [tvi("Y", TensorProto.FLOAT, [None, 2])], {"X": x}, ml=5)
    # Without the membership split: modes and missing tracking alone.
    plain = dict(common, nodes_modes=numpy_helper.from_array(np.array([4, 0, 3, 1], dtype=np.uint8)),
                 nodes_splits=numpy_helper.from_array(np.array([1, -0.5, 0.3, 0.5], dtype=np.float32)))
    del plain["membership_values"]
    for name, post in [("v5_plain", 0), ("v5_plain_post1", 1), ("v5_plain_post2", 2)]:
        n = helper.make_node("TreeEnsemble", ["X"], ["Y"], domain=ML, aggregate_function=1, post_transform=post, **plain)
        case(name, [n], [tvi("X", TensorProto.FLOAT, [None, 3])], [tvi("Y", TensorProto.FLOAT, [None, 2])], {"X": x}, ml=5)


def linear():
    x = X(nan=False)
    for name, coef, icpt, labels, post in [
        ("lc_one_target", [0.5, -1.0, 2.0], [0.1], [0, 1], "LOGISTIC"),
        ("lc_one_target_none_strings", [0.5, -1.0, 2.0], [0.1], ["n", "p"], "NONE"),
        ("lc_two_targets_logistic", [-0.5, 1.0, -2.0, 0.5, -1.0, 2.0], [-0.1, 0.1], [4, 8], "LOGISTIC"),
        ("lc_multi_softmax", list(RNG.uniform(-1, 1, 9).round(3)), [0.1, 0.2, -0.3], ["x", "y", "z"], "SOFTMAX"),
        ("lc_multi_softmax_zero", list(RNG.uniform(-1, 1, 9).round(3)), [0.0, 0.2, -0.3], [1, 2, 3], "SOFTMAX_ZERO"),
        ("lc_multi_probit", list(RNG.uniform(-0.2, 0.2, 9).round(3)), [0.5, 0.4, 0.3], [1, 2, 3], "PROBIT"),
        ("lc_multi_none", list(RNG.uniform(-1, 1, 9).round(3)), [0.1, 0.2, -0.3], [1, 2, 3], "NONE"),
    ]:
        attrs = {"classlabels_strings": labels} if isinstance(labels[0], str) else {"classlabels_ints": labels}
        n = helper.make_node("LinearClassifier", ["X"], ["Y", "Z"], domain=ML, coefficients=coef, intercepts=icpt,
                             post_transform=post, **attrs)
        lt = TensorProto.STRING if isinstance(labels[0], str) else TensorProto.INT64
        case(name, [n], [tvi("X", TensorProto.FLOAT, [None, 3])], [tvi("Y", lt, [None]), tvi("Z", TensorProto.FLOAT, [None, None])], {"X": x})
    n = helper.make_node("LinearClassifier", ["X"], ["Y", "Z"], domain=ML, coefficients=[0.5, -1, 2, 1, 1, 1],
                         intercepts=[0.0, 0.5], classlabels_ints=[0, 1], post_transform="SOFTMAX")
    case("lc_double_input", [n], [tvi("X", TensorProto.DOUBLE, [None, 3])],
         [tvi("Y", TensorProto.INT64, [None]), tvi("Z", TensorProto.FLOAT, [None, 2])], {"X": x.astype(np.float64)})
    n = helper.make_node("LinearRegressor", ["X"], ["Y"], domain=ML, coefficients=[0.5, -1, 2, 1, 1, 1],
                         intercepts=[0.0, 0.5], targets=2)
    case("lr_two_targets", [n], [tvi("X", TensorProto.FLOAT, [None, 3])], [tvi("Y", TensorProto.FLOAT, [None, 2])], {"X": x})
    n = helper.make_node("LinearRegressor", ["X"], ["Y"], domain=ML, coefficients=[0.5, -1, 2], intercepts=[3.0])
    case("lr_one_target", [n], [tvi("X", TensorProto.FLOAT, [None, 3])], [tvi("Y", TensorProto.FLOAT, [None, 1])], {"X": x})


def transforms():
    x = X(nan=False)
    xd = x.astype(np.float64) / 3
    case("scaler_float", [helper.make_node("Scaler", ["X"], ["Y"], domain=ML, offset=[0.1, -0.2, 0.3], scale=[2.0, 0.5, -1.5])],
         [tvi("X", TensorProto.FLOAT, [None, 3])], [tvi("Y", TensorProto.FLOAT, [None, 3])], {"X": x})
    case("scaler_double_one", [helper.make_node("Scaler", ["X"], ["Y"], domain=ML, offset=[0.1], scale=[3.0])],
         [tvi("X", TensorProto.DOUBLE, [None, 3])], [tvi("Y", TensorProto.FLOAT, [None, 3])], {"X": xd})
    for norm in ["MAX", "L1", "L2"]:
        case("normalizer_" + norm.lower(), [helper.make_node("Normalizer", ["X"], ["Y"], domain=ML, norm=norm)],
             [tvi("X", TensorProto.FLOAT, [None, 3])], [tvi("Y", TensorProto.FLOAT, [None, 3])], {"X": x})
    case("normalizer_l2_double", [helper.make_node("Normalizer", ["X"], ["Y"], domain=ML, norm="L2")],
         [tvi("X", TensorProto.DOUBLE, [None, 3])], [tvi("Y", TensorProto.FLOAT, [None, 3])], {"X": xd})
    case("imputer_nan", [helper.make_node("Imputer", ["X"], ["Y"], domain=ML, imputed_value_floats=[9.0, 8.0, 7.0],
                                          replaced_value_float=float("nan"))],
         [tvi("X", TensorProto.FLOAT, [None, 3])], [tvi("Y", TensorProto.FLOAT, [None, 3])], {"X": X()})
    case("imputer_value", [helper.make_node("Imputer", ["X"], ["Y"], domain=ML, imputed_value_floats=[-9.0],
                                            replaced_value_float=0.5)],
         [tvi("X", TensorProto.FLOAT, [None, 3])], [tvi("Y", TensorProto.FLOAT, [None, 3])], {"X": X(nan=False)})
    case("imputer_int64", [helper.make_node("Imputer", ["X"], ["Y"], domain=ML, imputed_value_int64s=[5, 6, 7],
                                            replaced_value_int64=1)],
         [tvi("X", TensorProto.INT64, [None, 3])], [tvi("Y", TensorProto.INT64, [None, 3])], {"X": (x * 2).astype(np.int64)})
    s = np.array([["red", "blue"], ["green", "red"], ["pink", "blue"]], dtype=object)
    case("onehot_strings", [helper.make_node("OneHotEncoder", ["X"], ["Y"], domain=ML, cats_strings=["blue", "green", "red"], zeros=1)],
         [tvi("X", TensorProto.STRING, [None, 2])], [tvi("Y", TensorProto.FLOAT, [None, 2, 3])], {"X": s})
    case("onehot_int64", [helper.make_node("OneHotEncoder", ["X"], ["Y"], domain=ML, cats_int64s=[1, 3, 5, 7])],
         [tvi("X", TensorProto.INT64, [None, 1])], [tvi("Y", TensorProto.FLOAT, [None, 1, 4])],
         {"X": np.array([[1], [5], [7], [2]], dtype=np.int64)})
    case("onehot_float", [helper.make_node("OneHotEncoder", ["X"], ["Y"], domain=ML, cats_int64s=[0, 1, 2])],
         [tvi("X", TensorProto.FLOAT, [None])], [tvi("Y", TensorProto.FLOAT, [None, 3])],
         {"X": np.array([0, 1.7, 2, -1], dtype=np.float32)})
    case("binarizer", [helper.make_node("Binarizer", ["X"], ["Y"], domain=ML, threshold=0.25)],
         [tvi("X", TensorProto.FLOAT, [None, 3])], [tvi("Y", TensorProto.FLOAT, [None, 3])], {"X": x})
    case("binarizer_default", [helper.make_node("Binarizer", ["X"], ["Y"], domain=ML)],
         [tvi("X", TensorProto.FLOAT, [None, 3])], [tvi("Y", TensorProto.FLOAT, [None, 3])], {"X": x})
    afe_idx = helper.make_tensor("idx", TensorProto.INT64, [2], [2, 0])
    case("afe_float", [helper.make_node("ArrayFeatureExtractor", ["X", "idx"], ["Y"], domain=ML)],
         [tvi("X", TensorProto.FLOAT, [None, 3])], [tvi("Y", TensorProto.FLOAT, [None, 2])], {"X": x}, inits=[afe_idx])
    case("afe_strings_1d", [helper.make_node("ArrayFeatureExtractor", ["X", "idx"], ["Y"], domain=ML)],
         [tvi("X", TensorProto.STRING, [3])], [tvi("Y", TensorProto.STRING, [1, 2])],
         {"X": np.array(["a", "b", "c"], dtype=object)}, inits=[afe_idx])
    case("feature_vectorizer", [helper.make_node("FeatureVectorizer", ["A", "B"], ["Y"], domain=ML, inputdimensions=[2, 3])],
         [tvi("A", TensorProto.FLOAT, [None, 2]), tvi("B", TensorProto.FLOAT, [None, 3])], [tvi("Y", TensorProto.FLOAT, [None, 5])],
         {"A": x[:, :2], "B": x * 3})
    words = np.array([["a"], ["b"], ["zz"], ["c"]], dtype=object)
    case("labelencoder_v1", [helper.make_node("LabelEncoder", ["X"], ["Y"], domain=ML, classes_strings=["c", "a", "b"], default_int64=-7)],
         [tvi("X", TensorProto.STRING, [None, 1])], [tvi("Y", TensorProto.INT64, [None, 1])], {"X": words}, ml=1)
    case("labelencoder_str_float", [helper.make_node("LabelEncoder", ["X"], ["Y"], domain=ML, keys_strings=["a", "b"], values_floats=[0.5, 1.5])],
         [tvi("X", TensorProto.STRING, [None, 1])], [tvi("Y", TensorProto.FLOAT, [None, 1])], {"X": words}, ml=2)
    case("labelencoder_int_str", [helper.make_node("LabelEncoder", ["X"], ["Y"], domain=ML, keys_int64s=[1, 2], values_strings=["one", "two"], default_string="many")],
         [tvi("X", TensorProto.INT64, [None])], [tvi("Y", TensorProto.STRING, [None])], {"X": np.array([1, 2, 3], dtype=np.int64)}, ml=2)
    case("labelencoder_float_int", [helper.make_node("LabelEncoder", ["X"], ["Y"], domain=ML, keys_floats=[0.5, 1.5], values_int64s=[5, 15])],
         [tvi("X", TensorProto.FLOAT, [None])], [tvi("Y", TensorProto.INT64, [None])], {"X": np.array([0.5, 1.5, 2.5], dtype=np.float32)}, ml=2)


def zipmap_chain():
    """A classifier graph with ZipMap, to check the tabular layer's map."""
    attrs = dict(NODES, **leaf_weights("class_", 3), classlabels_strings=["x", "y", "z"])
    n = helper.make_node("TreeEnsembleClassifier", ["X"], ["Y", "Z"], domain=ML, post_transform="SOFTMAX", **attrs)
    case("cls_strings_softmax", [n], [tvi("X", TensorProto.FLOAT, [None, 3])],
         [tvi("Y", TensorProto.STRING, [None]), tvi("Z", TensorProto.FLOAT, [None, 3])], {"X": X()})


if __name__ == "__main__":
    regressors()
    classifiers()
    tree_v5()
    linear()
    transforms()
    zipmap_chain()
    with open(os.path.join(HERE, "cases.json"), "w") as f:
        json.dump(CASES, f, indent=1, sort_keys=True)
        f.write("\n")
