// Package dataset reads tables for drift comparisons: CSV (a header row)
// or JSON Lines (one object per line), either optionally gzipped, chosen by
// the file name (.csv, .jsonl, .ndjson, .json, each optionally .gz).
//
// Reading streams the file twice: once to learn the columns and their
// kinds (a column is numeric when every non-empty value parses as a
// float; JSON true/false are categories), once to fill typed columns, so
// memory holds the typed values and not the text.
package dataset

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/modelfn/modelfn/drift"
)

// Format is a file format.
type Format int

const (
	CSV Format = iota
	JSONLines
)

// FormatOf picks the format from a file name.
func FormatOf(path string) (f Format, gz bool, err error) {
	name := strings.ToLower(path)
	if strings.HasSuffix(name, ".gz") {
		gz = true
		name = strings.TrimSuffix(name, ".gz")
	}
	switch {
	case strings.HasSuffix(name, ".csv"):
		return CSV, gz, nil
	case strings.HasSuffix(name, ".jsonl"), strings.HasSuffix(name, ".ndjson"), strings.HasSuffix(name, ".json"):
		return JSONLines, gz, nil
	}
	return 0, gz, fmt.Errorf("dataset: %s: unknown format (want .csv or .jsonl, optionally .gz)", path)
}

// Scan streams a file's rows to f as column names (in first-seen order)
// and cell text; a JSON null or a missing key is "" (missing).
func Scan(path string, f func(names []string, row []string) error) error {
	format, gz, err := FormatOf(path)
	if err != nil {
		return err
	}
	file, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	defer file.Close()
	var r io.Reader = bufio.NewReaderSize(file, 1<<20)
	if gz {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return fmt.Errorf("dataset: %s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	if format == CSV {
		err = scanCSV(r, f)
	} else {
		err = scanJSONL(r, f)
	}
	if err != nil {
		return fmt.Errorf("dataset: %s: %w", path, err)
	}
	return nil
}

func scanCSV(r io.Reader, f func([]string, []string) error) error {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return err
	}
	names := append([]string(nil), head...)
	row := make([]string, len(names))
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if len(rec) != len(names) {
			return fmt.Errorf("line %d: %d fields, header has %d", line, len(rec), len(names))
		}
		copy(row, rec)
		if err := f(names, row); err != nil {
			return err
		}
	}
}

func scanJSONL(r io.Reader, f func([]string, []string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var names []string
	index := map[string]int{}
	var row []string
	for line := 1; sc.Scan(); line++ {
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		keys, vals, err := objectInOrder(b)
		if err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		for i := range row {
			row[i] = ""
		}
		for n, k := range keys {
			raw := vals[n]
			i, ok := index[k]
			if !ok {
				i = len(names)
				index[k] = i
				names = append(names, k)
				row = append(row, "")
			}
			v, err := cellText(raw)
			if err != nil {
				return fmt.Errorf("line %d: %q: %w", line, k, err)
			}
			row[i] = v
		}
		if err := f(names, row); err != nil {
			return err
		}
	}
	return sc.Err()
}

// objectInOrder decodes one JSON object keeping its keys in order, so that
// columns come out in the order the file names them.
func objectInOrder(b []byte) ([]string, []json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, nil, fmt.Errorf("not a JSON object")
	}
	var keys []string
	var vals []json.RawMessage
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		k, _ := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, err
		}
		keys = append(keys, k)
		vals = append(vals, raw)
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, err
	}
	if dec.More() {
		return nil, nil, fmt.Errorf("trailing data after the object")
	}
	return keys, vals, nil
}

// cellText turns a JSON value into cell text: numbers as written, strings
// as they are, booleans as "true"/"false", null as "".
func cellText(raw json.RawMessage) (string, error) {
	s := strings.TrimSpace(string(raw))
	switch {
	case s == "null":
		return "", nil
	case strings.HasPrefix(s, `"`):
		var v string
		err := json.Unmarshal(raw, &v)
		return v, err
	case s == "true", s == "false":
		return s, nil
	case strings.HasPrefix(s, "{"), strings.HasPrefix(s, "["):
		return "", errors.New("nested values are not supported")
	}
	return s, nil
}

// parseNum parses a numeric cell; "" and NaN spellings are missing (NaN).
func parseNum(s string) (float64, bool) {
	if s == "" {
		return math.NaN(), true
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, false
	}
	return v, true
}

// isBool reports JSON/CSV booleans, which are categories, not numbers.
func isBool(s string) bool { return s == "true" || s == "false" }

// Infer scans a file and returns its columns with their kinds: numeric
// when every non-empty value parses as a float, else categorical.
func Infer(path string) ([]drift.Column, error) {
	var names []string
	numeric := []bool{}
	err := Scan(path, func(n []string, row []string) error {
		names = n
		for len(numeric) < len(n) {
			numeric = append(numeric, true)
		}
		for i, s := range row {
			if !numeric[i] || s == "" {
				continue
			}
			if _, ok := parseNum(s); !ok || isBool(s) {
				numeric[i] = false
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	cols := make([]drift.Column, len(names))
	for i, n := range names {
		cols[i] = drift.Column{Name: n, Kind: drift.Numeric}
		if !numeric[i] {
			cols[i].Kind = drift.Categorical
		}
	}
	return cols, nil
}

// Load reads a file into typed columns following cols (by name): numeric
// cells that do not parse count as type errors (stored as NaN, so rows stay
// aligned); a column of cols the file lacks is left out of the result.
func Load(path string, cols []drift.Column) (*drift.Data, error) {
	d := &drift.Data{}
	pos := map[string]int{} // column name -> index in d
	for _, c := range cols {
		pos[c.Name] = -1
	}
	var fileIdx []int // file column -> index in d, or -1
	err := Scan(path, func(names []string, row []string) error {
		for len(fileIdx) < len(names) {
			name := names[len(fileIdx)]
			k := -1
			if _, want := pos[name]; want {
				for _, c := range cols {
					if c.Name == name {
						k = len(d.Columns)
						d.Columns = append(d.Columns, c)
						d.Nums = append(d.Nums, nil)
						d.Strs = append(d.Strs, nil)
						d.TypeErrors = append(d.TypeErrors, 0)
						if c.Kind == drift.Numeric {
							d.Nums[k] = []float64{}
						} else {
							d.Strs[k] = []string{}
						}
						// Rows seen before this column appeared (JSON Lines) are missing.
						fill(d, k, rowsSoFar(d, k))
					}
				}
			}
			fileIdx = append(fileIdx, k)
		}
		for i, s := range row {
			k := fileIdx[i]
			if k < 0 {
				continue
			}
			if d.Nums[k] != nil {
				v, ok := parseNum(s)
				if !ok || isBool(s) {
					d.TypeErrors[k]++
					v = math.NaN()
				}
				d.Nums[k] = append(d.Nums[k], v)
			} else {
				d.Strs[k] = append(d.Strs[k], s)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

func rowsSoFar(d *drift.Data, skip int) int {
	n := 0
	for k := range d.Columns {
		if k == skip {
			continue
		}
		if d.Nums[k] != nil {
			n = max(n, len(d.Nums[k]))
		} else {
			n = max(n, len(d.Strs[k]))
		}
	}
	return n
}

func fill(d *drift.Data, k, n int) {
	for i := 0; i < n; i++ {
		if d.Nums[k] != nil {
			d.Nums[k] = append(d.Nums[k], math.NaN())
		} else {
			d.Strs[k] = append(d.Strs[k], "")
		}
	}
}
