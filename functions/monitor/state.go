package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/klauspost/compress/gzip"
	"gocloud.dev/blob"

	"github.com/modelfn/modelfn/drift"
)

// state is the monitor's checkpoint: one object, written whole at the end
// of a run, so a run killed half-way leaves the previous checkpoint in
// place and the next run redoes its work exactly once.
type state struct {
	Version int `json:"version"`
	// Processed lists the log objects already counted, for the partitions
	// still inside the window; Labels the label objects, with their times.
	Processed map[string]bool      `json:"processed"`
	Labels    map[string]time.Time `json:"labels"`
	// Hours holds each hour's mergeable profile and performance, for the
	// hours inside the window.
	Hours map[string]*hour `json:"hours"`
	// History keeps each past hour's drift severities after its profile
	// has left the window, for drift over time.
	History []hourScore `json:"history,omitempty"`
	// Pending labels are ground truth whose prediction was not found yet
	// (a label can arrive before its prediction's log object).
	Pending []label   `json:"pending,omitempty"`
	LastRun time.Time `json:"last_run"`
}

type hour struct {
	Profile *drift.Profile `json:"profile"`
	Perf    *performance   `json:"performance,omitempty"`
	// Score caches the hour's drift severities until records are added.
	Score *hourScore `json:"score,omitempty"`
}

type label struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}

const stateVersion = 1

func (m *Monitor) stateKey() string { return m.StatePrefix + "state.json.gz" }

func (m *Monitor) loadState(ctx context.Context) (*state, error) {
	st := &state{Version: stateVersion, Processed: map[string]bool{}, Labels: map[string]time.Time{}, Hours: map[string]*hour{}}
	r, err := m.Bucket.NewReader(ctx, m.stateKey(), nil)
	if isNotFound(err) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("monitor checkpoint %s: %w", m.stateKey(), err)
	}
	defer r.Close()
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("monitor checkpoint %s: %w", m.stateKey(), err)
	}
	if err := json.NewDecoder(io.LimitReader(zr, 1<<30)).Decode(st); err != nil {
		return nil, fmt.Errorf("monitor checkpoint %s: %w", m.stateKey(), err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("monitor checkpoint %s: version %d, this modelfn reads %d", m.stateKey(), st.Version, stateVersion)
	}
	if st.Processed == nil {
		st.Processed = map[string]bool{}
	}
	if st.Hours == nil {
		st.Hours = map[string]*hour{}
	}
	if st.Labels == nil {
		st.Labels = map[string]time.Time{}
	}
	return st, nil
}

// saveState commits a run: one object write, atomic in every store.
func (m *Monitor) saveState(ctx context.Context, st *state) error {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed) // the checkpoint is rewritten every run
	if err := json.NewEncoder(zw).Encode(st); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := m.Bucket.WriteAll(ctx, m.stateKey(), buf.Bytes(), &blob.WriterOptions{ContentType: "application/gzip"}); err != nil {
		return fmt.Errorf("monitor checkpoint %s: %w", m.stateKey(), err)
	}
	return nil
}
