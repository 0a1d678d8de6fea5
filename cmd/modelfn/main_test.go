package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelfn/modelfn/testing/tools"
)

var example = filepath.Join(tools.Root(), "examples", "breast-cancer")

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root, finish := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	if ferr := finish(); err == nil {
		err = ferr
	}
	return out.String(), err
}

// TestInitThenPredict makes a bundle as a user would and scores a file
// with a bad line through it.
func TestInitThenPredict(t *testing.T) {
	dir := t.TempDir()
	bundle := filepath.Join(dir, "bc")
	out, err := run(t, "init", "--model", filepath.Join(example, "model.json"), "--reference", filepath.Join(example, "reference.csv"),
		"--target", "target", "--classes", "malignant,benign", "--name", "bc", "--dir", bundle)
	if err != nil || !strings.Contains(out, `wrote bundle "bc"`) {
		t.Fatalf("%v\n%s", err, out)
	}
	if _, err := run(t, "init", "--model", filepath.Join(example, "model.json"), "--reference", filepath.Join(example, "reference.csv"), "--dir", bundle); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("overwrote a bundle without --force: %v", err)
	}
	in, _ := os.ReadFile(filepath.Join(example, "holdout.csv"))
	lines := strings.Split(string(in), "\n")
	lines[3] = "not-a-number" + lines[3][strings.Index(lines[3], ","):]
	input := filepath.Join(dir, "in.csv")
	os.WriteFile(input, []byte(strings.Join(lines, "\n")), 0o644)
	output := filepath.Join(dir, "out.csv")
	out, err = run(t, "predict", "--bundle", bundle, "--input", input, "--output", output)
	if err != nil || !strings.Contains(out, "171 rows, 170 scored") || !strings.Contains(out, "1 failed") {
		t.Fatalf("%v\n%s", err, out)
	}
	errs, err := os.ReadFile(output + ".errors.jsonl")
	if err != nil || !strings.Contains(string(errs), `"line":4,"code":"invalid_type","field":"mean radius"`) {
		t.Fatalf("%v %s", err, errs)
	}
	scored, _ := os.ReadFile(output)
	if n := strings.Count(string(scored), "\n"); n != 171 {
		t.Fatalf("output has %d lines", n)
	}
}

// TestCPUProfile writes a profile of a command that pprof can read, also
// when the command fails.
func TestCPUProfile(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		args []string
		fail bool
	}{
		{"ok", []string{"predict", "--bundle", filepath.Join(example, "bundle"), "--input", filepath.Join(example, "holdout.csv"), "--output", filepath.Join(dir, "out.csv")}, false},
		{"failed", []string{"predict", "--bundle", filepath.Join(dir, "missing"), "--input", filepath.Join(example, "holdout.csv"), "--output", filepath.Join(dir, "out2.csv")}, true},
	} {
		path := filepath.Join(dir, c.name+".pprof")
		out, err := run(t, append(c.args, "--cpu-profile", path)...)
		if (err != nil) != c.fail {
			t.Fatalf("%s: %v\n%s", c.name, err, out)
		}
		if b, err := exec.Command("go", "tool", "pprof", "-raw", path).CombinedOutput(); err != nil || !bytes.Contains(b, []byte("PeriodType: cpu nanoseconds")) {
			t.Fatalf("%s: pprof cannot read %s: %v\n%s", c.name, path, err, b)
		}
	}
	if _, err := run(t, "predict", "--cpu-profile", filepath.Join(dir, "no", "such", "dir", "p")); err == nil || !strings.Contains(err.Error(), "--cpu-profile") {
		t.Fatalf("an unwritable profile path: %v", err)
	}
}

func TestHelpTeaches(t *testing.T) {
	for _, cmd := range []string{"init", "serve", "predict", "monitor", "drift"} {
		out, err := run(t, cmd, "--help")
		if err != nil || !strings.Contains(out, "Usage:") || len(out) < 400 {
			t.Errorf("%s --help: %v\n%s", cmd, err, out)
		}
	}
}

// TestInitONNX: an ONNX pipeline (scaler + one-hot on a string column +
// logistic regression) takes the same path as XGBoost, its task and class
// names learnt from the model.
func TestInitONNX(t *testing.T) {
	dir := t.TempDir()
	onnx := filepath.Join(tools.Root(), "examples", "breast-cancer-onnx")
	out, err := run(t, "init", "--model", filepath.Join(onnx, "model.onnx"), "--reference", filepath.Join(onnx, "reference.csv"),
		"--target", "target", "--dir", filepath.Join(dir, "b"))
	if err != nil || !strings.Contains(out, `wrote bundle "model"`) || !strings.Contains(out, "classification onnx, 7 features, classes [benign malignant]") {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err = run(t, "predict", "--bundle", filepath.Join(dir, "b"), "--input", filepath.Join(onnx, "reference.csv"), "--output", filepath.Join(dir, "out.csv"))
	if err != nil || !strings.Contains(out, "569 rows, 569 scored") {
		t.Fatalf("%v\n%s", err, out)
	}
}
