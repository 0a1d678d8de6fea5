// Command benchcmp times modelfn's ONNX runtime against onnxruntime (through
// testing/onnx/ortrun.js and onnxruntime-node) on the same machine in the
// same run: the 100-tree depth-6 forest and the MLP of runtime/onnx's
// fixtures, at batch sizes 1 and 1,000, on the same rows.
//
//	go run ./testing/onnx/benchcmp   (make bench-onnx)
//
// Both sides are timed per batch, alternating case by case so that a busy
// machine slows both alike, and report the median of many runs. modelfn's
// time includes filling the input tensor from a runtime.Batch and writing
// the probabilities out; onnxruntime's includes the Node binding's call and
// output tensor. onnxruntime runs each model's twin without ZipMap
// (onnxruntime-node cannot return maps) and fetches only the
// probabilities, as modelfn computes only them.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	mfruntime "github.com/modelfn/modelfn/runtime"
	"github.com/modelfn/modelfn/runtime/onnx"
	"github.com/modelfn/modelfn/testing/tools"
)

type expected struct {
	Features []mfruntime.Feature `json:"features"`
	Rows     [][]float64         `json:"rows"`
}

type benchCase struct {
	fixture string
	rows    int
	label   string
}

func main() {
	runs := flag.Int("runs", 300, "timed runs per case and side (batch 1: 20x as many)")
	flag.Parse()
	if err := run(*runs); err != nil {
		slog.Error("benchcmp", "err", err)
		os.Exit(1)
	}
}

func run(runs int) error {
	root := tools.Root()
	node := tools.Path("node")
	if node == "" {
		return fmt.Errorf("node is not installed")
	}
	cases := []benchCase{
		{"rf_digits", 1, "forest 100x depth 6"}, {"rf_digits", 1000, "forest 100x depth 6"},
		{"mlp_digits", 1, "MLP 64-64-32-10"}, {"mlp_digits", 1000, "MLP 64-64-32-10"},
	}
	fmt.Printf("modelfn runtime/onnx vs onnxruntime-node, GOMAXPROCS=%d, median time per batch\n", runtime.GOMAXPROCS(0))
	fmt.Printf("%-22s %6s %14s %10s %16s %8s\n", "model", "batch", "modelfn", "allocs", "onnxruntime", "ratio")
	for _, c := range cases {
		n := runs
		if c.rows == 1 {
			n = runs * 20
		}
		goNs, allocs, err := timeModelfn(root, c, n)
		if err != nil {
			return err
		}
		ortNs, err := timeORT(root, node, c, n)
		if err != nil {
			return err
		}
		fmt.Printf("%-22s %6d %14s %10.0f %16s %7.2fx\n", c.label, c.rows, dur(goNs), allocs, dur(ortNs), goNs/ortNs)
	}
	fmt.Println("ratio = modelfn time / onnxruntime time (goal: at most 1.5)")
	return nil
}

func dur(ns float64) string { return time.Duration(ns).String() }

func load(root, name string) (*expected, []byte, error) {
	dir := filepath.Join(root, "runtime", "onnx", "testdata")
	b, err := os.ReadFile(filepath.Join(dir, name+".expected.json"))
	if err != nil {
		return nil, nil, err
	}
	var e expected
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	model, err := os.ReadFile(filepath.Join(dir, name+".onnx"))
	return &e, model, err
}

func timeModelfn(root string, c benchCase, runs int) (float64, float64, error) {
	e, model, err := load(root, c.fixture)
	if err != nil {
		return 0, 0, err
	}
	s, err := mfruntime.NewSchema(e.Features, false)
	if err != nil {
		return 0, 0, err
	}
	m, err := onnx.Open(model, mfruntime.Spec{Schema: s})
	if err != nil {
		return 0, 0, err
	}
	b := mfruntime.NewBatch(s, c.rows)
	for i := 0; i < c.rows; i++ {
		r := b.Begin(i)
		for col, v := range e.Rows[i%len(e.Rows)] {
			if ie := r.Number(col, v, ""); ie != nil {
				return 0, 0, ie
			}
		}
		if ie := r.End(); ie != nil {
			return 0, 0, ie
		}
	}
	out := make([]float64, c.rows*m.Info().Outputs)
	ctx := context.Background()
	for i := 0; i < min(runs, 20); i++ {
		if err := m.Predict(ctx, b, out); err != nil {
			return 0, 0, err
		}
	}
	times := make([]float64, runs)
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	for i := range times {
		t0 := time.Now()
		if err := m.Predict(ctx, b, out); err != nil {
			return 0, 0, err
		}
		times[i] = float64(time.Since(t0).Nanoseconds())
	}
	runtime.ReadMemStats(&ms1)
	allocs := float64(ms1.Mallocs-ms0.Mallocs) / float64(runs)
	return median(times), allocs, nil
}

func timeORT(root, node string, c benchCase, runs int) (float64, error) {
	e, _, err := load(root, c.fixture)
	if err != nil {
		return 0, err
	}
	data := make([]float64, 0, c.rows*len(e.Features))
	for i := 0; i < c.rows; i++ {
		data = append(data, e.Rows[i%len(e.Rows)]...)
	}
	model := filepath.Join(root, "runtime", "onnx", "testdata", c.fixture+".ort.onnx")
	req := []map[string]any{{
		"model":   model,
		"feeds":   map[string]any{"input": map[string]any{"type": "float32", "dims": []int{c.rows, len(e.Features)}, "data": data}},
		"outputs": []string{"probabilities"},
	}}
	in, err := json.Marshal(req)
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(node, filepath.Join(root, "testing", "onnx", "ortrun.js"), "--bench", fmt.Sprint(runs))
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("ortrun.js: %w: %s", err, stderr.String())
	}
	var res []struct {
		NsPerRun []float64 `json:"ns_per_run"`
		Error    string    `json:"error"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return 0, err
	}
	if len(res) != 1 || res[0].Error != "" || len(res[0].NsPerRun) == 0 {
		return 0, fmt.Errorf("onnxruntime: %+v", res)
	}
	return median(res[0].NsPerRun), nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
