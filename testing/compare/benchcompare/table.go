package main

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// The alternatives, by the short name the table uses.
const (
	againstFastAPI    = "FastAPI"
	againstFastAPILog = "FastAPI, logging"
	againstPandasLog  = "pandas, logging"
	againstPython     = "Python process"
	againstUvicorn    = "uvicorn server"
	againstPandas     = "pandas"
	againstScipy      = "scipy"
	againstORT        = "onnxruntime"
	againstGnet       = "gnet event loop"
	againstBare       = "bare server"
)

var legend = map[string]string{
	againstFastAPI:    "FastAPI + uvicorn + xgboost (testing/compare/py/app.py): one uvicorn worker (uvloop, httptools when installed), one xgboost thread, `async def` endpoint, pydantic validation, `inplace_predict`, no prediction log; pinned to the same core as each modelfn serve (GOMAXPROCS=1; one with the prediction log off, one with it on, one logging a 10% sample), wrk on the other",
	againstPython:     "`/usr/bin/python3 testing/compare/py/coldstart.py`: a fresh process that imports xgboost, loads the model and predicts one row",
	againstUvicorn:    "the FastAPI app (testing/compare/py/app.py) under uvicorn, one worker: exec to its first 200 on /predict",
	againstFastAPILog: "the same FastAPI app with MODELFN_LOG_DIR set, pinned and loaded the same way: it also logs every prediction as modelfn does by default, a JSON line with the same fields (compact, through one C-accelerated encoder), gzipped by zlib at its fastest level as requests come, 10,000 records an object",
	againstPandasLog:  "`batch_pandas.py` with a log folder: the same, then every row logged as modelfn's batch does by default, a JSON line per row written by pandas `to_json` (flat, 10 significant digits), gzipped at zlib's fastest level, 50,000 records an object",
	againstPandas:     "`testing/compare/py/batch_pandas.py`: pandas read_csv, xgboost inplace_predict, to_csv (no per-row prediction id), on the same file in the same folder",
	againstScipy:      "`testing/drift/compare_scipy.py` (scipy + numpy), against `testing/drift/benchdrift`, as `make bench-drift` runs them",
	againstORT:        "onnxruntime-node 1.30 through `testing/onnx/ortrun.js`, as `make bench-onnx` (testing/onnx/benchcmp) runs it",
	againstGnet:       "testing/compare/floor -design gnet: a server answering every request with a fixed body on gnet's event loop (one goroutine for all connections), pinned and loaded as modelfn serve is",
	againstBare:       "testing/compare/floor -design goroutines: a server answering every request with a fixed body, a goroutine per connection, pinned and loaded as modelfn serve is",
}

// writeTable prints the results as Markdown: a header naming the machine,
// one table, the legend and the notes.
func writeTable(w io.Writer, r *Results) {
	m := r.Machine
	fmt.Fprintf(w, "Measured %s on %s, %d cores, %.1f GiB, %s (Linux %s); Go %s; Python %s with xgboost %s, pandas %s, FastAPI %s, uvicorn %s (uvloop %s, httptools %s); %s.\n",
		r.Finished.Format("2006-01-02"), m.CPU, m.Cores, m.MemoryGB, m.OS, m.Kernel, strings.TrimPrefix(m.Go, "go"), m.Python,
		m.Versions["xgboost"], m.Versions["pandas"], m.Versions["fastapi"], m.Versions["uvicorn"],
		m.Versions["uvloop"], m.Versions["httptools"], m.Versions["wrk"])
	quiet := ""
	if !r.Load.Quiet {
		quiet = fmt.Sprintf(" (it had not fallen below %.1f after waiting: other work shared the machine)", r.Load.Limit)
	}
	fmt.Fprintf(w, "1-minute load average %.2f at the start%s and %.2f at the end (which counts the benchmark's own processes). ", r.Load.Start, quiet, r.Load.End)
	fmt.Fprintf(w, "Each figure is the median of its runs with (min–max); the advantage is computed per pair of adjacent runs "+
		"(above 1: modelfn is better). Only the ratios carry over to other machines.\n\n")
	fmt.Fprintln(w, "| | measured | modelfn | against | alternative | modelfn's advantage | goal |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	var notes []string
	used := map[string]bool{}
	for _, row := range r.Rows {
		goal := row.GoalText
		if row.Met != nil {
			goal += map[bool]string{true: " ✓", false: " ✗ missed"}[*row.Met]
			if shown, _ := strconv.ParseFloat(num(row.Advantage.Median), 64); !*row.Met && shown >= row.Goal {
				goal += fmt.Sprintf(" (median %.4g×)", row.Advantage.Median) // rounding showed the goal
			}
		}
		what := row.What
		if row.Note != "" {
			notes = append(notes, row.Note)
			what += fmt.Sprintf(" [%d]", len(notes))
		}
		used[row.Against] = true
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", row.Section, what, row.Modelfn.format(), row.Against,
			row.Other.format(), row.Advantage.format(), goal)
	}
	fmt.Fprintln(w)
	var names []string
	for n := range used {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "- **%s**: %s.\n", n, legend[n])
	}
	for i, n := range notes {
		fmt.Fprintf(w, "- [%d] %s.\n", i+1, n)
	}
}
