#!/usr/bin/python3
"""Fixture models for runtime/onnx, trained with Debian's scikit-learn 1.2
and written as ONNX graphs with onnx.helper, node for node as skl2onnx's
converters emit them (skl2onnx itself is not packaged). Beside each model,
<name>.expected.json holds the rows and scikit-learn's own predictions.

Run with /usr/bin/python3 (Debian's, which has scikit-learn, onnx, numpy):

    /usr/bin/python3 runtime/onnx/testdata/gen.py

Which reference each fixture matches, and why it can match exactly:

- Tree thresholds. scikit-learn casts inputs to float32 and compares them
  with float64 thresholds. For a float32 input, storing the largest float32
  not above each threshold (skl2onnx's sklearn_threshold) makes
  float32(x) <= t and x <= w agree for every x, so the float fixtures match
  scikit-learn. The double-input regressor stores double thresholds
  (nodes_splits as a double tensor) and its rows are rounded to float32
  first, so scikit-learn's cast changes nothing.
- Float arithmetic. onnxruntime sums leaf weights and computes linear scores
  in float32; against scikit-learn's float64 the difference stays below
  1e-6 on these data sets (the tests allow 1e-5).
"""
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris
from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
ML = "ai.onnx.ml"
OPSETS = [helper.make_opsetid("", 15), helper.make_opsetid(ML, 3)]


def save(name, graph, opsets=OPSETS):
    model = helper.make_model(graph, opset_imports=opsets, producer_name="modelfn-gen")
    model.ir_version = 8
    onnx.save(model, os.path.join(HERE, name + ".onnx"))
    # onnxruntime-node cannot return seq(map) values, so the reference
    # runner gets a twin whose outputs are the tensors ZipMap relabels.
    zm = [n for n in graph.node if n.op_type == "ZipMap"]
    if zm:
        twin = onnx.ModelProto()
        twin.CopyFrom(model)
        g = twin.graph
        z = [n for n in g.node if n.op_type == "ZipMap"][0]
        outs = [o for o in g.output if o.name != z.output[0]]
        del g.output[:]
        g.output.extend(outs)
        g.output.append(helper.make_tensor_value_info(z.input[0], TensorProto.FLOAT, [None, None]))
        g.node.remove(z)
        onnx.save(twin, os.path.join(HERE, name + ".ort.onnx"))


def write_expected(name, task, classes, features, rows, preds, reference):
    doc = {
        "task": task,
        "classes": [str(c) for c in classes],
        "features": features,
        "rows": rows,
        "predictions": [[float(v) for v in p] for p in preds],
        "reference": reference,
    }
    with open(os.path.join(HERE, name + ".expected.json"), "w") as f:
        json.dump(doc, f, indent=None, separators=(",", ":"))
        f.write("\n")


def f32_threshold(t):
    """Largest float32 not above the float64 threshold t."""
    w = np.float32(t)
    if float(w) > t:
        w = np.nextafter(w, np.float32(-np.inf))
    return float(w)


def numeric_features(names):
    return [{"name": n, "type": "numeric"} for n in names]


def zipmap(inp, out, classes):
    if all(isinstance(c, str) for c in classes):
        return helper.make_node("ZipMap", [inp], [out], domain=ML, classlabels_strings=list(classes))
    return helper.make_node("ZipMap", [inp], [out], domain=ML, classlabels_int64s=[int(c) for c in classes])


def seqmap_output(name, classes):
    key = TensorProto.STRING if all(isinstance(c, str) for c in classes) else TensorProto.INT64
    t = onnx.TypeProto()
    m = t.sequence_type.elem_type.map_type
    m.key_type = key
    m.value_type.tensor_type.elem_type = TensorProto.FLOAT
    return helper.make_value_info(name, t)


def label_output(classes):
    t = TensorProto.STRING if all(isinstance(c, str) for c in classes) else TensorProto.INT64
    return helper.make_tensor_value_info("output_label", t, [None])


def tree_attrs(trees, weights_fn, classify, float_thresholds):
    """Flatten fitted sklearn trees into the v1/v3 attribute lists."""
    a = {k: [] for k in ["nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_modes", "nodes_values",
                         "nodes_truenodeids", "nodes_falsenodeids", "nodes_missing_value_tracks_true", "nodes_hitrates"]}
    p = "class_" if classify else "target_"
    for k in ["treeids", "nodeids", "ids", "weights"]:
        a[p + k] = []
    for tid, tree in enumerate(trees):
        for i in range(tree.node_count):
            leaf = tree.children_left[i] == -1
            a["nodes_treeids"].append(tid)
            a["nodes_nodeids"].append(i)
            a["nodes_featureids"].append(0 if leaf else int(tree.feature[i]))
            a["nodes_modes"].append("LEAF" if leaf else "BRANCH_LEQ")
            thr = 0.0 if leaf else float(tree.threshold[i])
            a["nodes_values"].append(f32_threshold(thr) if float_thresholds else thr)
            a["nodes_truenodeids"].append(0 if leaf else int(tree.children_left[i]))
            a["nodes_falsenodeids"].append(0 if leaf else int(tree.children_right[i]))
            a["nodes_missing_value_tracks_true"].append(0)
            a["nodes_hitrates"].append(1.0)
            if leaf:
                for cid, w in weights_fn(tid, tree, i):
                    a[p + "treeids"].append(tid)
                    a[p + "nodeids"].append(i)
                    a[p + "ids"].append(cid)
                    a[p + "weights"].append(float(w))
    return a


def logreg_iris():
    X, y = load_iris(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=60, random_state=0)
    m = LogisticRegression(max_iter=1000).fit(Xtr, ytr)
    classes = [int(c) for c in m.classes_]
    lc = helper.make_node("LinearClassifier", ["input"], ["output_label", "probability_tensor"], domain=ML,
                          coefficients=m.coef_.ravel().astype(float).tolist(), intercepts=m.intercept_.tolist(),
                          multi_class=1, post_transform="SOFTMAX", classlabels_ints=classes)
    norm = helper.make_node("Normalizer", ["probability_tensor"], ["probabilities"], domain=ML, norm="L1")
    zm = zipmap("probabilities", "output_probability", classes)
    g = helper.make_graph([lc, norm, zm], "logreg_iris",
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, 4])],
                          [label_output(classes), seqmap_output("output_probability", classes)])
    save("logreg_iris", g)
    names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    write_expected("logreg_iris", "classification", classes, numeric_features(names), Xte.tolist(),
                   m.predict_proba(Xte), "scikit-learn 1.2 LogisticRegression.predict_proba")


def rf_digits():
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=300, random_state=0)
    m = RandomForestClassifier(n_estimators=100, max_depth=6, random_state=0).fit(Xtr, ytr)
    classes = [int(c) for c in m.classes_]
    n = len(m.estimators_)

    def weights(tid, tree, i):
        v = tree.value[i][0]
        v = v / v.sum()  # scikit-learn 1.2 keeps class counts
        return [(c, v[c] / n) for c in range(len(v))]

    a = tree_attrs([e.tree_ for e in m.estimators_], weights, True, True)
    te = helper.make_node("TreeEnsembleClassifier", ["input"], ["output_label", "probabilities"], domain=ML,
                          classlabels_int64s=classes, post_transform="NONE", **a)
    zm = zipmap("probabilities", "output_probability", classes)
    g = helper.make_graph([te, zm], "rf_digits",
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, 64])],
                          [label_output(classes), seqmap_output("output_probability", classes)])
    save("rf_digits", g)
    names = ["pixel_%d_%d" % (i // 8, i % 8) for i in range(64)]
    write_expected("rf_digits", "classification", classes, numeric_features(names), Xte.tolist(),
                   m.predict_proba(Xte), "scikit-learn 1.2 RandomForestClassifier.predict_proba (100 trees, depth 6)")


def gbc_breast():
    data = load_breast_cancer()
    X, y = data.data, data.target
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=150, random_state=0)
    m = GradientBoostingClassifier(n_estimators=50, max_depth=3, random_state=0).fit(Xtr, ytr)
    classes = [int(c) for c in m.classes_]
    lr = m.learning_rate
    a = tree_attrs([e[0].tree_ for e in m.estimators_], lambda tid, tree, i: [(0, lr * tree.value[i][0][0])],
                   True, True)
    base = m._raw_predict_init(np.zeros((1, X.shape[1]))).ravel().tolist()
    te = helper.make_node("TreeEnsembleClassifier", ["input"], ["output_label", "probabilities"], domain=ML,
                          classlabels_int64s=classes, post_transform="LOGISTIC", base_values=base, **a)
    zm = zipmap("probabilities", "output_probability", classes)
    g = helper.make_graph([te, zm], "gbc_breast",
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, 30])],
                          [label_output(classes), seqmap_output("output_probability", classes)])
    save("gbc_breast", g)
    names = [n.replace(" ", "_") for n in data.feature_names]
    write_expected("gbc_breast", "classification", classes, numeric_features(names), Xte.tolist(),
                   m.predict_proba(Xte), "scikit-learn 1.2 GradientBoostingClassifier.predict_proba (binary)")


def gbr_diabetes():
    data = load_diabetes()
    X, y = data.data, data.target
    # Rows rounded to float32 (scikit-learn's trees cast to float32) so the
    # double thresholds compare the same values scikit-learn compares.
    X = X.astype(np.float32).astype(np.float64)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=100, random_state=0)
    m = GradientBoostingRegressor(n_estimators=60, max_depth=3, random_state=0).fit(Xtr, ytr)
    lr = m.learning_rate
    # TreeEnsemble (ai.onnx.ml 5): nodes and leaves in separate lists.
    feat, splits, modes, tids, tleaf, fids, fleaf, roots = [], [], [], [], [], [], [], []
    lw, lt = [], []
    for est in m.estimators_:
        tree = est[0].tree_
        node_index, leaf_index = {}, {}
        for i in range(tree.node_count):
            if tree.children_left[i] == -1:
                leaf_index[i] = len(lw)
                lw.append(lr * tree.value[i][0][0])
                lt.append(0)
            else:
                node_index[i] = len(feat)
                feat.append(0)
                splits.append(0.0)
                modes.append(0)
                tids.append(0)
                tleaf.append(0)
                fids.append(0)
                fleaf.append(0)
        roots.append(node_index[0])
        for i, j in node_index.items():
            feat[j] = int(tree.feature[i])
            splits[j] = float(tree.threshold[i])
            for child, ids, leafs in [(tree.children_left[i], tids, tleaf), (tree.children_right[i], fids, fleaf)]:
                if child in leaf_index:
                    ids[j], leafs[j] = leaf_index[child], 1
                else:
                    ids[j], leafs[j] = node_index[child], 0
    base = float(m.init_.constant_.ravel()[0])
    # The base score joins as a stump whose two leaves both hold it (a
    # one-leaf tree's encoding is read differently by different runtimes).
    roots.append(len(feat))
    feat.append(0)
    splits.append(0.0)
    modes.append(0)
    tids.append(len(lw))
    tleaf.append(1)
    fids.append(len(lw) + 1)
    fleaf.append(1)
    lw += [base, base]
    lt += [0, 0]
    te = helper.make_node(
        "TreeEnsemble", ["input"], ["variable"], domain=ML,
        n_targets=1, aggregate_function=1, post_transform=0, tree_roots=roots,
        nodes_featureids=feat, nodes_modes=numpy_helper.from_array(np.array(modes, dtype=np.uint8)),
        nodes_splits=numpy_helper.from_array(np.array(splits, dtype=np.float64)),
        nodes_truenodeids=tids, nodes_trueleafs=tleaf, nodes_falsenodeids=fids, nodes_falseleafs=fleaf,
        leaf_targetids=lt, leaf_weights=numpy_helper.from_array(np.array(lw, dtype=np.float64)))
    g = helper.make_graph([te], "gbr_diabetes",
                          [helper.make_tensor_value_info("input", TensorProto.DOUBLE, [None, 10])],
                          [helper.make_tensor_value_info("variable", TensorProto.DOUBLE, [None, 1])])
    save("gbr_diabetes", g, [helper.make_opsetid("", 15), helper.make_opsetid(ML, 5)])
    write_expected("gbr_diabetes", "regression", [], numeric_features(list(data.feature_names)), Xte.tolist(),
                   m.predict(Xte).reshape(-1, 1),
                   "scikit-learn 1.2 GradientBoostingRegressor.predict, rows rounded to float32")


def pipeline_breast():
    """StandardScaler on numeric columns + OneHotEncoder on a string column
    + LogisticRegression, one ONNX input per column as skl2onnx makes for a
    DataFrame. Also writes the reference CSV (with its target) that the
    example bundle is built from."""
    data = load_breast_cancer()
    names = [n.replace(" ", "_") for n in data.feature_names]
    X = data.data
    keep = ["mean_texture", "mean_smoothness", "mean_concavity", "worst_area", "worst_concave_points", "worst_symmetry"]
    cols = [names.index(k) for k in keep]
    # A categorical column derived from the mean radius (not otherwise used).
    radius = X[:, names.index("mean_radius")]
    size = np.where(radius < 12, "small", np.where(radius < 16, "medium", "large")).astype(object)
    num = X[:, cols].astype(np.float32).astype(np.float64)
    labels = np.array([data.target_names[t] for t in data.target], dtype=object)
    idx = np.arange(len(X))
    tr, te = train_test_split(idx, test_size=150, random_state=0)
    import pandas as pd
    df = pd.DataFrame(num, columns=keep)
    df["size"] = size
    pipe = Pipeline([
        ("prep", ColumnTransformer([("num", StandardScaler(), keep), ("cat", OneHotEncoder(handle_unknown="ignore"), ["size"])])),
        ("clf", LogisticRegression(max_iter=2000)),
    ]).fit(df.iloc[tr], labels[tr])
    prep, clf = pipe.named_steps["prep"], pipe.named_steps["clf"]
    sc = prep.named_transformers_["num"]
    ohe = prep.named_transformers_["cat"]
    cats = [str(c) for c in ohe.categories_[0]]
    classes = [str(c) for c in clf.classes_]
    inits = [
        helper.make_tensor("gather_index", TensorProto.INT64, [1], [0]),
        helper.make_tensor("reshape_shape", TensorProto.INT64, [2], [-1, len(cats)]),
    ]
    nodes = [
        helper.make_node("Concat", keep, ["num_concat"], axis=1),
        helper.make_node("Scaler", ["num_concat"], ["num_scaled"], domain=ML,
                         offset=sc.mean_.tolist(), scale=(1.0 / sc.scale_).tolist()),
        helper.make_node("Gather", ["size", "gather_index"], ["size_col"], axis=1),
        helper.make_node("OneHotEncoder", ["size_col"], ["size_onehot3d"], domain=ML, cats_strings=cats, zeros=1),
        helper.make_node("Concat", ["size_onehot3d"], ["size_concat"], axis=-1),
        helper.make_node("Reshape", ["size_concat", "reshape_shape"], ["size_onehot"]),
        helper.make_node("Concat", ["num_scaled", "size_onehot"], ["features"], axis=1),
    ]
    coef = clf.coef_.ravel().astype(float)
    icpt = clf.intercept_.astype(float)
    nodes.append(helper.make_node("LinearClassifier", ["features"], ["output_label", "probabilities"], domain=ML,
                                  coefficients=(-coef).tolist() + coef.tolist(), intercepts=(-icpt).tolist() + icpt.tolist(),
                                  multi_class=0, post_transform="LOGISTIC", classlabels_strings=classes))
    nodes.append(zipmap("probabilities", "output_probability", classes))
    inputs = [helper.make_tensor_value_info(k, TensorProto.FLOAT, [None, 1]) for k in keep]
    inputs.append(helper.make_tensor_value_info("size", TensorProto.STRING, [None, 1]))
    g = helper.make_graph(nodes, "pipeline_breast", inputs,
                          [label_output(classes), seqmap_output("output_probability", classes)], initializer=inits)
    save("pipeline_breast", g)
    features = numeric_features(keep) + [{"name": "size", "type": "categorical", "categories": sorted(set(size))}]
    rows = [[float(v) for v in num[i]] + [str(size[i])] for i in te]
    write_expected("pipeline_breast", "classification", classes, features, rows,
                   pipe.predict_proba(df.iloc[te]),
                   "scikit-learn 1.2 Pipeline(ColumnTransformer(StandardScaler, OneHotEncoder), LogisticRegression).predict_proba")
    # Reference data for an example bundle: every row, with its target.
    out = df.copy()
    out["target"] = labels
    out.to_csv(os.path.join(HERE, "pipeline_breast.reference.csv"), index=False, float_format="%.9g")


def mlp_digits():
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=300, random_state=0)
    m = MLPClassifier(hidden_layer_sizes=(64, 32), max_iter=400, random_state=0).fit(Xtr, ytr)
    classes = [int(c) for c in m.classes_]
    inits, nodes = [], [helper.make_node("Cast", ["input"], ["cast_input"], to=TensorProto.FLOAT)]
    prev = "cast_input"
    acts = {"relu": "Relu", "tanh": "Tanh", "logistic": "Sigmoid", "identity": "Identity"}
    for i, (W, b) in enumerate(zip(m.coefs_, m.intercepts_)):
        inits.append(numpy_helper.from_array(W.astype(np.float32), "coefficient%d" % i))
        inits.append(numpy_helper.from_array(b.astype(np.float32).reshape(1, -1), "intercepts%d" % i))
        nodes.append(helper.make_node("MatMul", [prev, "coefficient%d" % i], ["mul_result%d" % i]))
        nodes.append(helper.make_node("Add", ["mul_result%d" % i, "intercepts%d" % i], ["add_result%d" % i]))
        last = i == len(m.coefs_) - 1
        act = "Softmax" if last else acts[m.activation]
        out = "out_activations_result" if last else "next_activations%d" % i
        attrs = {"axis": 1} if last else {}
        nodes.append(helper.make_node(act, ["add_result%d" % i], [out], **attrs))
        prev = out
    inits.append(numpy_helper.from_array(np.array(classes, dtype=np.int32), "classes"))
    nodes += [
        helper.make_node("Identity", [prev], ["probabilities"]),
        helper.make_node("ArgMax", ["probabilities"], ["argmax_output"], axis=1),
        helper.make_node("ArrayFeatureExtractor", ["classes", "argmax_output"], ["array_feature_extractor_result"], domain=ML),
        helper.make_node("Reshape", ["array_feature_extractor_result", "shape_flat"], ["reshaped_result"]),
        helper.make_node("Cast", ["reshaped_result"], ["output_label"], to=TensorProto.INT64),
        zipmap("probabilities", "output_probability", classes),
    ]
    inits.append(helper.make_tensor("shape_flat", TensorProto.INT64, [1], [-1]))
    g = helper.make_graph(nodes, "mlp_digits",
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, 64])],
                          [label_output(classes), seqmap_output("output_probability", classes)], initializer=inits)
    save("mlp_digits", g)
    names = ["pixel_%d_%d" % (i // 8, i % 8) for i in range(64)]
    write_expected("mlp_digits", "classification", classes, numeric_features(names), Xte.tolist(),
                   m.predict_proba(Xte), "scikit-learn 1.2 MLPClassifier(64, 32).predict_proba")


if __name__ == "__main__":
    logreg_iris()
    rf_digits()
    gbc_breast()
    gbr_diabetes()
    pipeline_breast()
    mlp_digits()
