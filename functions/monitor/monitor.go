// Package monitor is the scheduled monitoring function. Each run:
//
//  1. reads the checkpoint (one object);
//  2. lists the prediction-log partitions inside the window and reads the
//     objects it has not counted yet, adding each record to the profile of
//     the hour it was made in (a corrupt or partial object is skipped whole
//     and counted);
//  3. reads new ground-truth label objects ({"id","label"} lines), finds
//     each prediction by its id (a UUIDv7 names its hour) and adds the pair
//     to that hour's performance;
//  4. merges the window's hourly profiles, compares them with the
//     reference profile (drift, data quality, prediction drift,
//     performance) and the hourly history (drift over time and its type);
//  5. publishes metrics and alarms, writes the report, and commits the new
//     checkpoint in one write.
//
// A run killed before step 5 commits nothing, so the next run counts
// everything exactly once; metrics are gauges of the window, so publishing
// them again is harmless.
package monitor

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/modelfn/modelfn/drift"
	"github.com/modelfn/modelfn/functions/monitoring"
	"github.com/modelfn/modelfn/functions/predlog"
	"github.com/modelfn/modelfn/runtime"
	"github.com/modelfn/modelfn/runtime/bundle"
)

// Monitor watches one model version.
type Monitor struct {
	Name, Version string
	Schema        *runtime.Schema
	Info          runtime.Info
	// Bucket holds the log (LogPrefix), the labels (LabelsPrefix) and the
	// checkpoint and reports (StatePrefix).
	Bucket                               *blob.Bucket
	LogPrefix, LabelsPrefix, StatePrefix string

	Reference *drift.Profile
	RefPerf   map[string]float64 // the model's performance on the reference data
	Config    bundle.Monitoring
	Sink      *monitoring.Sink // nil: results only returned and stored
	Logger    *slog.Logger
	Now       func() time.Time
}

// Health counts what a run read.
type Health struct {
	ObjectsRead     int `json:"objects_read"`
	Records         int `json:"records"`
	CorruptObjects  int `json:"corrupt_objects"`
	LabelsJoined    int `json:"labels_joined"`
	LabelsPending   int `json:"labels_pending"`
	LabelsDiscarded int `json:"labels_discarded"`
}

// Result is a run's outcome.
type Result struct {
	Time          time.Time           `json:"time"`
	WindowStart   time.Time           `json:"window_start"`
	WindowRows    int                 `json:"window_rows"`
	NotEnoughData bool                `json:"not_enough_data"`
	Health        Health              `json:"health"`
	Report        *drift.Report       `json:"report,omitempty"`
	Metrics       []monitoring.Metric `json:"metrics"`
	Alarms        []monitoring.Alarm  `json:"alarms"`
	Duration      time.Duration       `json:"duration_ns"`
}

const hourLayout = "2006-01-02T15"

// Run performs one monitoring pass.
func (m *Monitor) Run(ctx context.Context) (*Result, error) {
	start := time.Now()
	now := m.now()
	res := &Result{Time: now, WindowStart: now.Add(-m.Config.Window).Truncate(time.Hour)}
	st, err := m.loadState(ctx)
	if err != nil {
		return nil, err
	}
	hours := m.windowHours(now)
	if err := m.readLogs(ctx, st, hours, &res.Health); err != nil {
		return nil, err
	}
	if err := m.readLabels(ctx, st, hours, &res.Health); err != nil {
		return nil, err
	}
	m.prune(st, hours)
	m.analyze(st, res)
	res.Duration = time.Since(start)
	res.Metrics = append(res.Metrics, m.healthMetrics(res)...)

	if m.Sink != nil {
		if err := m.Sink.Publish(ctx, res.Metrics); err != nil {
			return res, err
		}
		if err := m.Sink.Alarm(ctx, res.Alarms); err != nil {
			return res, err
		}
	}
	if err := m.writeReport(ctx, res); err != nil {
		return res, err
	}
	st.LastRun = now
	if err := m.saveState(ctx, st); err != nil {
		return res, err
	}
	m.logger().Info("monitor run", "window_rows", res.WindowRows, "objects_read", res.Health.ObjectsRead,
		"records", res.Health.Records, "corrupt", res.Health.CorruptObjects, "labels_joined", res.Health.LabelsJoined,
		"alarms", len(res.Alarms), "took", res.Duration.Round(time.Millisecond))
	return res, nil
}

// windowHours lists the hours of the window, oldest first.
func (m *Monitor) windowHours(now time.Time) []time.Time {
	var hs []time.Time
	for h := now.Add(-m.Config.Window).Truncate(time.Hour); !h.After(now); h = h.Add(time.Hour) {
		hs = append(hs, h.UTC())
	}
	return hs
}

// readLogs reads the log objects of the window it has not counted yet.
func (m *Monitor) readLogs(ctx context.Context, st *state, hours []time.Time, h *Health) error {
	var keys []string
	for _, hr := range hours {
		all, err := m.list(ctx, predlog.Partition(m.LogPrefix, hr), ".jsonl.gz")
		if err != nil {
			return err
		}
		for _, key := range all {
			if !st.Processed[key] {
				keys = append(keys, key)
			}
		}
	}
	return m.readObjects(ctx, keys, func(key string, b *runtime.Batch, entries []predlog.Entry, err error) error {
		switch {
		case errors.Is(err, predlog.ErrCorrupt):
			h.CorruptObjects++
			m.logger().Warn("monitor: skipping corrupt prediction-log object", "key", key, "err", err)
		case err != nil:
			return fmt.Errorf("monitor: %w", err) // the store failed: retry the whole run later
		default:
			h.ObjectsRead++
			h.Records += len(entries)
			m.addRecords(st, b, entries)
		}
		st.Processed[key] = true
		return nil
	})
}

// addRecords adds each record to the profile of the hour it was made in.
func (m *Monitor) addRecords(st *state, b *runtime.Batch, entries []predlog.Entry) {
	cols := m.columns()
	nums := make([]float64, len(cols))
	strs := make([]string, len(cols))
	for i, e := range entries {
		hr := m.hourOf(st, e.Time)
		m.row(b, i, e.Out, nums, strs)
		hr.Profile.Add(nums, strs)
		hr.Score = nil
	}
}

func (m *Monitor) hourOf(st *state, t time.Time) *hour {
	key := t.UTC().Format(hourLayout)
	h, ok := st.Hours[key]
	if !ok {
		h = &hour{Profile: drift.NewProfile(m.columns(), m.profileOptions())}
		st.Hours[key] = h
	}
	return h
}

// readLabels joins new ground truth with the predictions it is about.
func (m *Monitor) readLabels(ctx context.Context, st *state, hours []time.Time, h *Health) error {
	labels := st.Pending
	st.Pending = nil
	objs, err := m.listObjects(ctx, m.LabelsPrefix, "")
	if err != nil {
		return err
	}
	for _, o := range objs {
		key := o.Key
		if _, done := st.Labels[key]; done || o.ModTime.Before(hours[0]) {
			continue // counted, or older than any prediction in the window
		}
		ls, err := m.readLabelObject(ctx, key)
		if err != nil {
			if !errors.Is(err, errBadLabels) {
				// The store failed, not the object: retry the whole run later.
				return fmt.Errorf("monitor: label object %s: %w", key, err)
			}
			h.CorruptObjects++
			m.logger().Warn("monitor: skipping unreadable label object", "key", key, "err", err)
		}
		labels = append(labels, ls...)
		st.Labels[key] = o.ModTime
	}
	if len(labels) == 0 {
		return nil
	}
	// Group by the hour each prediction was made, then scan those hours'
	// log objects for the ids.
	first := hours[0]
	byHour := map[time.Time][]label{}
	for _, l := range labels {
		t, ok := predlog.IDTime(l.ID)
		if !ok || t.Before(first) {
			h.LabelsDiscarded++ // not a prediction id, or older than the window
			continue
		}
		hr := t.Truncate(time.Hour)
		byHour[hr] = append(byHour[hr], l)
	}
	for hr, ls := range byHour {
		want := make(map[string]string, len(ls))
		for _, l := range ls {
			want[l.ID] = l.Label
		}
		keys, err := m.list(ctx, predlog.Partition(m.LogPrefix, hr), ".jsonl.gz")
		if err != nil {
			return err
		}
		err = m.readObjects(ctx, keys, func(_ string, _ *runtime.Batch, entries []predlog.Entry, err error) error {
			if errors.Is(err, predlog.ErrCorrupt) {
				return nil // counted when read for drift
			}
			if err != nil {
				return fmt.Errorf("monitor: %w", err)
			}
			for _, e := range entries {
				lab, ok := want[e.ID]
				if !ok {
					continue
				}
				delete(want, e.ID)
				if m.addLabel(st, e, lab) {
					h.LabelsJoined++
				} else {
					h.LabelsDiscarded++
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		// Labels whose prediction is not in the store yet wait for the next
		// run, for as long as their hour is in the window.
		for id, lab := range want {
			st.Pending = append(st.Pending, label{ID: id, Label: lab})
		}
	}
	sort.Slice(st.Pending, func(i, j int) bool { return st.Pending[i].ID < st.Pending[j].ID })
	h.LabelsPending = len(st.Pending)
	return nil
}

var errBadLabels = errors.New("not a label object")

// readLabelObject reads {"id": "...", "label": ...} JSON lines (gzip or
// not). label is a class name or index for a classifier, a number for a
// regressor.
func (m *Monitor) readLabelObject(ctx context.Context, key string) ([]label, error) {
	data, err := m.Bucket.ReadAll(ctx, key)
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errBadLabels, err)
		}
		if data, err = io.ReadAll(io.LimitReader(zr, predlog.MaxObjectBytes)); err != nil {
			return nil, fmt.Errorf("%w: %v", errBadLabels, err)
		}
	}
	var out []label
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var raw struct {
			ID    string          `json:"id"`
			Label json.RawMessage `json:"label"`
		}
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil || raw.ID == "" || len(raw.Label) == 0 {
			return out, fmt.Errorf("%w: line %d: want {\"id\": \"...\", \"label\": ...}", errBadLabels, line)
		}
		var s string
		if json.Unmarshal(raw.Label, &s) != nil {
			s = string(raw.Label) // a number
		}
		out = append(out, label{ID: raw.ID, Label: s})
	}
	if err := sc.Err(); err != nil { // a line over 1 MiB
		return out, fmt.Errorf("%w: %v", errBadLabels, err)
	}
	return out, nil
}

// list returns the keys under prefix ending with suffix, sorted.
func (m *Monitor) list(ctx context.Context, prefix, suffix string) ([]string, error) {
	objs, err := m.listObjects(ctx, prefix, suffix)
	keys := make([]string, len(objs))
	for i, o := range objs {
		keys[i] = o.Key
	}
	return keys, err
}

func (m *Monitor) listObjects(ctx context.Context, prefix, suffix string) ([]*blob.ListObject, error) {
	var objs []*blob.ListObject
	it := m.Bucket.List(&blob.ListOptions{Prefix: prefix})
	for {
		o, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("monitor: list %s: %w", prefix, err)
		}
		if !o.IsDir && strings.HasSuffix(o.Key, suffix) && !strings.HasSuffix(o.Key, ".tmp") {
			objs = append(objs, o)
		}
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].Key < objs[j].Key })
	return objs, nil
}

// prune drops hours that left the window (keeping their drift scores in
// the history) and checkpoint entries for partitions that left it.
func (m *Monitor) prune(st *state, hours []time.Time) {
	first := hours[0]
	for key, h := range st.Hours {
		t, err := time.Parse(hourLayout, key)
		if err == nil && t.Before(first) {
			st.History = append(st.History, m.scoreHour(t, h))
		}
		if err != nil || t.Before(first) {
			delete(st.Hours, key)
		}
	}
	sort.Slice(st.History, func(i, j int) bool { return st.History[i].Start.Before(st.History[j].Start) })
	if n := len(st.History); n > maxHistory {
		st.History = st.History[n-maxHistory:]
	}
	cut := predlog.Partition(m.LogPrefix, first)
	for key := range st.Processed {
		if key < cut {
			delete(st.Processed, key)
		}
	}
	for key, t := range st.Labels {
		if t.Before(first) {
			delete(st.Labels, key)
		}
	}
}

func (m *Monitor) now() time.Time {
	if m.Now != nil {
		return m.Now().UTC()
	}
	return time.Now().UTC()
}

func (m *Monitor) logger() *slog.Logger {
	if m.Logger != nil {
		return m.Logger
	}
	return slog.Default()
}

func isNotFound(err error) bool { return err != nil && gcerrors.Code(err) == gcerrors.NotFound }
