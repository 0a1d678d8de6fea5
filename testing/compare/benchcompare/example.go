package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
)

// example is the breast-cancer model's holdout rows and xgboost's own
// probabilities for them (examples/breast-cancer/expected.json, written by
// train.py with xgboost 1.7.4): every side's answers are checked against
// these before and while it is timed.
type example struct {
	dir      string
	header   []string // holdout.csv's columns, target included
	features []string
	lines    []string             // holdout.csv's data lines, as written
	rows     []map[string]float64 // the same, features only
	expected [][2]float64         // P(malignant), P(benign) per holdout row
}

// tolerance between float32 probabilities computed by two implementations.
const tolerance = 1e-6

func loadExample(root string) (*example, error) {
	e := &example{dir: filepath.Join(root, "examples", "breast-cancer")}
	f, err := os.Open(filepath.Join(e.dir, "holdout.csv"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("holdout.csv: %w", err)
	}
	e.header = recs[0]
	for _, c := range e.header {
		if c != "target" {
			e.features = append(e.features, c)
		}
	}
	raw, err := os.ReadFile(filepath.Join(e.dir, "holdout.csv"))
	if err != nil {
		return nil, err
	}
	for i, line := range splitLines(raw)[1:] {
		e.lines = append(e.lines, line)
		row := map[string]float64{}
		for j, c := range e.header {
			if c == "target" {
				continue
			}
			v, err := strconv.ParseFloat(recs[i+1][j], 64)
			if err != nil {
				return nil, fmt.Errorf("holdout.csv line %d, %s: %w", i+2, c, err)
			}
			row[c] = v
		}
		e.rows = append(e.rows, row)
	}
	var exp struct {
		Classes       []string     `json:"classes"`
		Probabilities [][2]float64 `json:"probabilities"`
	}
	b, err := os.ReadFile(filepath.Join(e.dir, "expected.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &exp); err != nil {
		return nil, fmt.Errorf("expected.json: %w", err)
	}
	if len(exp.Probabilities) != len(e.rows) || len(exp.Classes) != 2 || exp.Classes[1] != "benign" {
		return nil, fmt.Errorf("expected.json: %d probabilities for %d holdout rows, classes %v", len(exp.Probabilities), len(e.rows), exp.Classes)
	}
	e.expected = exp.Probabilities
	return e, nil
}

func splitLines(b []byte) []string {
	var out []string
	start := 0
	for i, c := range b {
		if c == '\n' {
			out = append(out, string(b[start:i]))
			start = i + 1
		}
	}
	if start < len(b) {
		out = append(out, string(b[start:]))
	}
	return out
}

// body is a predict request of the first n holdout rows.
func (e *example) body(n int) ([]byte, error) {
	return json.Marshal(map[string]any{"instances": e.rows[:n]})
}

// checkAnswer checks a predict answer ({"predictions": [{"probabilities":
// {"malignant": p, "benign": q}}]}, modelfn's and the FastAPI app's shape)
// against the first rows of the holdout.
func (e *example) checkAnswer(body []byte, n int) error {
	var a struct {
		Predictions []struct {
			Label         string             `json:"label"`
			Probabilities map[string]float64 `json:"probabilities"`
		} `json:"predictions"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return fmt.Errorf("answer %.200s: %w", body, err)
	}
	if len(a.Predictions) != n {
		return fmt.Errorf("answer has %d predictions, want %d: %.200s", len(a.Predictions), n, body)
	}
	for i, p := range a.Predictions {
		if err := e.checkRow(i, p.Probabilities["malignant"], p.Probabilities["benign"]); err != nil {
			return err
		}
		if want := map[bool]string{true: "benign", false: "malignant"}[e.expected[i][1] > e.expected[i][0]]; p.Label != want {
			return fmt.Errorf("row %d: label %q, want %q", i, p.Label, want)
		}
	}
	return nil
}

func (e *example) checkRow(i int, malignant, benign float64) error {
	want := e.expected[i%len(e.expected)]
	if math.Abs(malignant-want[0]) > tolerance || math.Abs(benign-want[1]) > tolerance {
		return fmt.Errorf("holdout row %d: probabilities %v, %v; xgboost's are %v", i%len(e.expected), malignant, benign, want)
	}
	return nil
}
