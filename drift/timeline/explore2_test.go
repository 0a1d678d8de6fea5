package timeline_test

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/modelfn/modelfn/drift"
	"github.com/modelfn/modelfn/drift/timeline"
	"github.com/modelfn/modelfn/testing/driftsim"
)

func seriesData(s *driftsim.Stream) *timeline.Series {
	cols := make([]drift.Column, len(s.Features))
	for i, f := range s.Features {
		cols[i] = drift.Column{Name: f}
	}
	colsOf := func(rows [][]float64) *drift.Data {
		d := &drift.Data{Columns: cols, Nums: make([][]float64, len(cols))}
		for j := range cols {
			d.Nums[j] = make([]float64, len(rows))
			for i, r := range rows {
				d.Nums[j][i] = r[j]
			}
		}
		return d
	}
	ref := colsOf(s.Reference.Rows)
	out := &timeline.Series{}
	for _, w := range s.Windows {
		out.AddReport(w.Start, w.End, drift.CompareData(ref, colsOf(w.Rows), drift.Config{}))
	}
	return out
}

func TestExplore2(t *testing.T) {
	for _, c := range [][2]int{{200, 2000}, {500, 2000}, {1000, 2000}, {1000, 5000}, {500, 800}} {
		st, _ := driftsim.Generate(driftsim.Config{Seed: 1, Rows: c[0], ReferenceRows: c[1]})
		t0 := time.Now()
		sr := seriesData(st)
		fmt.Println(c, "series took", time.Since(t0))
		for f, name := range sr.Features[:4] {
			var s, ss float64
			mn, mx := math.Inf(1), math.Inf(-1)
			for _, w := range sr.Windows {
				v := w.Severity[f]
				s += v
				ss += v * v
				mn = min(mn, v)
				mx = max(mx, v)
			}
			n := float64(len(sr.Windows))
			m := s / n
			fmt.Printf("%-25s mean %.3f sd %.3f min %.3f max %.3f\n", name, m, math.Sqrt(ss/n-m*m), mn, mx)
		}
	}
}
