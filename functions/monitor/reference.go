package monitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/modelfn/modelfn/drift"
	"github.com/modelfn/modelfn/runtime"
)

// BuildReference profiles the reference data as the monitor will profile
// live traffic: every feature, plus the model's own predictions on it (so
// prediction drift compares like with like). When the data has a target
// column it also measures the model's reference performance.
func BuildReference(ctx context.Context, m runtime.Model, s *runtime.Schema, csvPath, target string) ([]byte, map[string]float64, error) {
	f, err := os.Open(csvPath)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	rows, err := runtime.NewCSVRows(f, s)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", csvPath, err)
	}
	tcol := -1
	if target != "" {
		if tcol = rows.Column(target); tcol < 0 {
			return nil, nil, fmt.Errorf("%s: no target column %q", csvPath, target)
		}
	}
	info := m.Info()
	cols := Columns(s, info)
	profile := drift.NewProfile(cols, drift.ProfileOptions{})
	perf := newPerformance(info)
	b := runtime.NewBatch(s, 1024)
	var targets []string
	nums, strs := make([]float64, len(cols)), make([]string, len(cols))
	out := make([]float64, 1024*info.Outputs)
	flush := func() error {
		if b.Rows == 0 {
			return nil
		}
		if err := m.Predict(ctx, b, out[:b.Rows*info.Outputs]); err != nil {
			return fmt.Errorf("%s: the model failed on the reference data: %w", csvPath, err)
		}
		for i := 0; i < b.Rows; i++ {
			o := out[i*info.Outputs : (i+1)*info.Outputs]
			row(s, info, b, i, o, nums, strs)
			profile.Add(nums, strs)
			if tcol >= 0 {
				perf.add(targets[i], o)
			}
		}
		b.Reset()
		targets = targets[:0]
		return nil
	}
	for {
		err := rows.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", csvPath, err)
		}
		if ie := rows.Fill(b); ie != nil {
			return nil, nil, fmt.Errorf("%s", ie.At(csvPath))
		}
		if tcol >= 0 {
			targets = append(targets, rows.Record[tcol])
		}
		if b.Rows == 1024 {
			if err := flush(); err != nil {
				return nil, nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, nil, err
	}
	data, err := profile.MarshalJSON()
	if err != nil {
		return nil, nil, err
	}
	return data, perf.metrics(), nil
}
