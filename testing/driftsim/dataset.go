package driftsim

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Dataset is a table of numeric features with one label per row.
type Dataset struct {
	Features []string
	Rows     [][]float64
	Labels   []float64 // nil when the table has no target column
}

//go:embed testdata/breast_cancer.csv
var breastCancerCSV string

// BreastCancer is scikit-learn's bundled breast-cancer data (569 rows, 30
// numeric features under scikit-learn's names, label 0 = malignant,
// 1 = benign), exported by testdata/gen_dataset.py. It is the data the
// example model was trained on, so simulated streams can also be scored.
func BreastCancer() (*Dataset, error) {
	d, err := ReadCSV(strings.NewReader(breastCancerCSV), "target")
	if err != nil {
		return nil, fmt.Errorf("driftsim: breast_cancer.csv: %w", err)
	}
	return d, nil
}

// ReadCSV reads a CSV table with a header row whose cells are all numbers.
// The column named target (if any) becomes the labels.
func ReadCSV(r io.Reader, target string) (*Dataset, error) {
	records, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read csv: %w", err)
	}
	if len(records) < 2 {
		return nil, fmt.Errorf("read csv: need a header and at least one row, got %d lines", len(records))
	}
	header := records[0]
	labelCol := -1
	d := &Dataset{}
	for i, name := range header {
		if name == target {
			labelCol = i
			continue
		}
		d.Features = append(d.Features, name)
	}
	for line, rec := range records[1:] {
		row := make([]float64, 0, len(d.Features))
		for i, cell := range rec {
			v, err := strconv.ParseFloat(cell, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("read csv: line %d, column %q: %q is not a finite number", line+2, header[i], cell)
			}
			if i == labelCol {
				d.Labels = append(d.Labels, v)
				continue
			}
			row = append(row, v)
		}
		d.Rows = append(d.Rows, row)
	}
	return d, nil
}

// std is each feature's standard deviation (ddof=0) over the whole table:
// the unit a drift's Shift is given in.
func (d *Dataset) std() []float64 {
	out := make([]float64, len(d.Features))
	for j := range d.Features {
		var mean float64
		for _, row := range d.Rows {
			mean += row[j]
		}
		mean /= float64(len(d.Rows))
		var ss float64
		for _, row := range d.Rows {
			ss += (row[j] - mean) * (row[j] - mean)
		}
		out[j] = math.Sqrt(ss / float64(len(d.Rows)))
	}
	return out
}
