package bundle

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/modelfn/modelfn/runtime"
)

// MaxCategories is the most distinct values a column may have and still be
// inferred as categorical; beyond it the column is likely an id or free
// text, which no model should read raw.
const MaxCategories = 1000

// InferFeatures reads reference data (CSV with a header) and infers one
// feature per column except those in skip (the target, ids): numeric when
// every present value parses as a number, categorical otherwise; the
// observed range or categories; nullable when any value is missing. file
// names the input in errors.
func InferFeatures(r io.Reader, file string, skip ...string) ([]runtime.Feature, int, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, 0, fmt.Errorf("%s: empty file: a header line is needed", file)
		}
		return nil, 0, fmt.Errorf("%s: %w", file, err)
	}
	header = append([]string(nil), header...)
	type stats struct {
		numeric  bool
		min, max float64
		missing  int
		cats     map[string]struct{}
	}
	st := make([]stats, len(header))
	for i := range st {
		st[i] = stats{numeric: true, min: math.Inf(1), max: math.Inf(-1), cats: map[string]struct{}{}}
	}
	rows := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", file, err) // csv.ParseError names the line
		}
		rows++
		for i, v := range rec {
			s := &st[i]
			if v == "" || isMissing(v) {
				s.missing++
				continue
			}
			if len(s.cats) <= MaxCategories {
				if _, ok := s.cats[v]; !ok {
					s.cats[strings.Clone(v)] = struct{}{}
				}
			}
			if s.numeric {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
					s.numeric = false
					continue
				}
				s.min, s.max = min(s.min, f), max(s.max, f)
			}
		}
	}
	if rows == 0 {
		return nil, 0, fmt.Errorf("%s: no data rows after the header", file)
	}
	skipped := map[string]bool{}
	for _, s := range skip {
		if s != "" {
			skipped[s] = true
		}
	}
	found := map[string]bool{}
	var cols []runtime.Feature
	for i, name := range header {
		if skipped[name] {
			found[name] = true
			continue
		}
		s := &st[i]
		c := runtime.Feature{Name: name, Nullable: s.missing > 0}
		switch {
		case s.missing == rows:
			return nil, 0, fmt.Errorf("%s: column %q is empty in every row", file, name)
		case s.numeric:
			c.Type = runtime.Numeric
			lo, hi := s.min, s.max
			c.Min, c.Max = &lo, &hi
		case len(s.cats) > MaxCategories:
			return nil, 0, fmt.Errorf("%s: column %q has more than %d distinct non-numeric values; it looks like an id or free text: leave it out with --exclude %q", file, name, MaxCategories, name)
		default:
			c.Type = runtime.Categorical
			for v := range s.cats {
				c.Categories = append(c.Categories, v)
			}
			sort.Strings(c.Categories)
		}
		cols = append(cols, c)
	}
	for name := range skipped {
		if !found[name] {
			return nil, 0, fmt.Errorf("%s: the header has no column %q (columns: %s)", file, name, strings.Join(header, ", "))
		}
	}
	if len(cols) == 0 {
		return nil, 0, fmt.Errorf("%s: no feature columns left", file)
	}
	return cols, rows, nil
}

func isMissing(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "na", "nan", "null":
		return true
	}
	return false
}
