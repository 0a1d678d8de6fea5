package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelfn/modelfn/testing/tools"
)

// A report as wrk 4.1 --latency prints it.
const wrkReport = `Running 10s test @ http://127.0.0.1:41234/predict
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   812.45us  301.22us  12.01ms   91.50%
    Req/Sec    19.81k     1.02k   21.30k    80.00%
  Latency Distribution
     50%  750.00us
     75%  850.12us
     90%    1.02ms
     99%    2.50ms
  197123 requests in 10.00s, 98.21MB read
Requests/sec:  19712.30
Transfer/sec:      9.82MB
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk(wrkReport)
	if err != nil {
		t.Fatal(err)
	}
	if r.rps != 19712.30 || r.requests != 197123 || r.p50 != 0.75 || r.p99 != 2.5 {
		t.Errorf("parsed %+v", r)
	}
	slow := strings.Replace(wrkReport, "99%    2.50ms", "99%    1.20s", 1)
	if r, err := parseWrk(slow); err != nil || r.p99 != 1200 {
		t.Errorf("seconds: %+v %v", r, err)
	}
	for name, bad := range map[string]string{
		"non-2xx": strings.Replace(wrkReport, "Requests/sec", "  Non-2xx or 3xx responses: 3\nRequests/sec", 1),
		"timeout": strings.Replace(wrkReport, "Requests/sec", "  Socket errors: connect 0, read 0, write 0, timeout 7\nRequests/sec", 1),
		"garbage": "unable to connect to 127.0.0.1:1 Connection refused",
	} {
		if _, err := parseWrk(bad); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// testing/onnx/benchcmp's result line, printed with its format.
func TestONNXLine(t *testing.T) {
	line := fmt.Sprintf("%-22s %6d %14s %10.0f %16s %7.2fx", "forest 100x depth 6", 1000, "7.217ms", 0.0, "14.633205ms", 0.49)
	m := onnxLine.FindStringSubmatch(strings.TrimSpace(line))
	if m == nil || m[1] != "forest 100x depth 6" || m[2] != "1000" || m[3] != "7.217ms" || m[4] != "0" || m[5] != "14.633205ms" {
		t.Fatalf("%q: %q", line, m)
	}
}

func TestFigureAndAdvantage(t *testing.T) {
	f := newFigure("ms", []float64{5, 1, 3, 2})
	if f.Median != 2.5 || f.Min != 1 || f.Max != 5 {
		t.Errorf("%+v", f)
	}
	if got := f.format(); got != "2.50 ms (1.00–5.00)" {
		t.Errorf("format %q", got)
	}
	// Rates: modelfn/other per pair; costs: other/modelfn.
	r := compare("s", "w", "x", newFigure("req/s", []float64{100, 300}), newFigure("req/s", []float64{10, 10}), true, 20, "≥ 20×")
	if r.Advantage.Median != 20 || r.Met == nil || !*r.Met {
		t.Errorf("rate: %+v met %v", r.Advantage, r.Met)
	}
	r = compare("s", "w", "x", newFigure("ms", []float64{2, 4}), newFigure("ms", []float64{10, 10}), false, 10, "")
	if r.Advantage.Median != 3.75 || *r.Met {
		t.Errorf("cost: %+v met %v", r.Advantage, *r.Met)
	}
	if commas(10000000) != "10,000,000" || num(25000.4) != "25,000" {
		t.Errorf("%s %s", commas(10000000), num(25000.4))
	}
}

// The checks that gate every figure accept xgboost's own answers and
// refuse a wrong probability.
func TestExampleChecks(t *testing.T) {
	e, err := loadExample(tools.Root())
	if err != nil {
		t.Fatal(err)
	}
	if len(e.features) != 30 || len(e.rows) != len(e.expected) {
		t.Fatalf("%d features, %d rows, %d expected", len(e.features), len(e.rows), len(e.expected))
	}
	answer := func(shift float64) []byte {
		var preds []map[string]any
		for _, p := range e.expected[:3] {
			label := "malignant"
			if p[1] > p[0] {
				label = "benign"
			}
			preds = append(preds, map[string]any{"label": label, "probabilities": map[string]float64{"malignant": p[0] - shift, "benign": p[1] + shift}})
		}
		b, _ := json.Marshal(map[string]any{"predictions": preds})
		return b
	}
	if err := e.checkAnswer(answer(0), 3); err != nil {
		t.Error(err)
	}
	if err := e.checkAnswer(answer(1e-4), 3); err == nil {
		t.Error("a probability 1e-4 off passed")
	}
	if err := e.checkAnswer(answer(0), 4); err == nil {
		t.Error("a short answer passed")
	}

	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	if err := e.writeCSV(in, 400); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(in)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 401 || lines[1] != lines[1+len(e.lines)] {
		t.Fatalf("%d lines; cycling broken", len(lines))
	}
	var scored strings.Builder
	scored.WriteString(lines[0] + ",probability_malignant,probability_benign\n")
	for i, l := range lines[1:] {
		p := e.expected[i%len(e.expected)]
		fmt.Fprintf(&scored, "%s,%v,%v\n", l, p[0], p[1])
	}
	out := filepath.Join(dir, "out.csv")
	os.WriteFile(out, []byte(scored.String()), 0o644)
	if err := e.checkCSV(out); err != nil {
		t.Error(err)
	}
	os.WriteFile(out, []byte(strings.Replace(scored.String(), fmt.Sprint(e.expected[5][1]), "0.5", 1)), 0o644)
	if err := e.checkCSV(out); err == nil {
		t.Error("a wrong probability in the CSV passed")
	}
}

// The check that a Python side did log: every part's records counted, and
// a part that is not JSON records with ids named with its line.
func TestPythonLogRecords(t *testing.T) {
	dir := t.TempDir()
	if _, err := pythonLogRecords(dir); err == nil {
		t.Error("an empty folder passed")
	}
	writePart := func(name string, lines ...string) {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(strings.Join(lines, "\n") + "\n"))
		zw.Close()
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writePart("part-000001.json.gz", `{"id":"a","features":{"x":1}}`, `{"id":"b","features":{"x":2}}`)
	writePart("part-000002.json.gz", `{"id":"c","features":{"x":3}}`)
	if n, err := pythonLogRecords(dir); err != nil || n != 3 {
		t.Errorf("got %d records, %v; want 3", n, err)
	}
	writePart("part-000003.json.gz", `{"id":"d"}`, `{"features":{"x":4}}`)
	if _, err := pythonLogRecords(dir); err == nil || !strings.Contains(err.Error(), "part-000003.json.gz: line 2") {
		t.Errorf("a record without an id: %v", err)
	}
}
