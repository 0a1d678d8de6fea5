package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"gocloud.dev/blob"

	"github.com/modelfn/modelfn/drift"
	"github.com/modelfn/modelfn/drift/render"
	"github.com/modelfn/modelfn/drift/timeline"
	"github.com/modelfn/modelfn/functions/monitoring"
	"github.com/modelfn/modelfn/runtime"
)

// PredictionColumn is the profile column holding the model's output: the
// probability of the second class for a binary classifier, the predicted
// label for a multi-class one, the value for a regressor.
const PredictionColumn = "prediction"

// columns are the profile's columns: the features, then the prediction.
func (m *Monitor) columns() []drift.Column {
	return Columns(m.Schema, m.Info)
}

// Columns lays out a profile for a schema and a model's output.
func Columns(s *runtime.Schema, info runtime.Info) []drift.Column {
	cols := make([]drift.Column, 0, s.Width()+1)
	for _, f := range s.Features {
		c := drift.Column{Name: f.Name, Min: f.Min, Max: f.Max, Categories: f.Categories}
		if f.Type == runtime.Categorical {
			c.Kind = drift.Categorical
		}
		cols = append(cols, c)
	}
	pred := drift.Column{Name: PredictionColumn, Role: drift.Prediction}
	if info.Task == runtime.Classification && info.Outputs > 2 {
		pred.Kind = drift.Categorical
	}
	return append(cols, pred)
}

// row fills nums and strs (length Width+1) with batch row i and its output.
func row(s *runtime.Schema, info runtime.Info, b *runtime.Batch, i int, out []float64, nums []float64, strs []string) {
	w := s.Width()
	copy(nums, b.X[i*w:(i+1)*w])
	if b.S != nil {
		copy(strs, b.S[i*w:(i+1)*w])
	}
	switch {
	case info.Task == runtime.Regression:
		nums[w] = out[0]
	case info.Outputs == 2:
		nums[w] = out[1]
	default:
		strs[w] = info.Classes[argmax(out)]
	}
}

func (m *Monitor) row(b *runtime.Batch, i int, out, nums []float64, strs []string) {
	row(m.Schema, m.Info, b, i, out, nums, strs)
}

// profileOptions keeps an hour's exact sample small enough that a window
// of hours fits the checkpoint, while the merged window still holds up to
// the default sample cap.
func (m *Monitor) profileOptions() drift.ProfileOptions {
	hours := int(m.Config.Window / time.Hour)
	return drift.ProfileOptions{SampleCap: max(200, drift.DefaultSampleCap/max(hours, 1))}
}

func (m *Monitor) driftConfig() drift.Config {
	c := drift.Config{
		Method: m.Config.Method, Threshold: m.Config.Threshold, DriftShare: m.Config.DriftShare,
		Quality: drift.QualityConfig{
			MissingShare: m.Config.Quality.MissingShare, OutOfRangeShare: m.Config.Quality.OutOfRangeShare,
			UnseenCategoryShare: m.Config.Quality.UnseenCategoryShare,
		},
		Performance: drift.PerformanceConfig{Drop: m.Config.Perf.Drop},
	}
	if len(m.Config.Columns) > 0 {
		c.Columns = map[string]drift.ColumnConfig{}
		for name, r := range m.Config.Columns {
			c.Columns[name] = drift.ColumnConfig{Method: r.Method, Threshold: r.Threshold}
		}
	}
	return c
}

// analyze merges the window and compares it with the reference.
func (m *Monitor) analyze(st *state, res *Result) {
	window := drift.NewProfile(m.columns(), drift.ProfileOptions{})
	keys := make([]string, 0, len(st.Hours))
	for k := range st.Hours {
		keys = append(keys, k)
	}
	sort.Strings(keys) // merge in time order: the same state gives the same window
	for _, k := range keys {
		if err := window.Merge(st.Hours[k].Profile); err != nil {
			m.logger().Error("monitor: hour profile does not match the bundle's columns; skipped", "hour", k, "err", err)
		}
	}
	res.WindowRows = window.Rows()
	if res.WindowRows < m.Config.MinRows {
		res.NotEnoughData = true
		return
	}
	rep := drift.Compare(m.Reference, window, m.driftConfig())
	if cur := m.windowPerformance(st, keys); cur != nil {
		rep.Performance = drift.ComparePerformance(m.RefPerf, cur.accumulator(), m.driftConfig().Performance)
	}
	eps, err := m.episodes(st, keys)
	if err != nil {
		m.logger().Error("monitor: drift over time", "err", err)
	}
	rep.Episodes = timeline.ForReport(eps)
	res.Report = rep
	res.Metrics, res.Alarms = m.metrics(rep, res.Time)
	res.Alarms = append(res.Alarms, m.episodeAlarms(eps, res.Time)...)
}

// windowPerformance merges the window's labelled predictions; nil when
// no label has arrived.
func (m *Monitor) windowPerformance(st *state, hours []string) *performance {
	var cur *performance
	for _, k := range hours {
		p := st.Hours[k].Perf
		if p == nil {
			continue
		}
		if cur == nil {
			cur = newPerformance(m.Info)
		}
		if err := cur.merge(p); err != nil {
			m.logger().Error("monitor: hour performance does not merge; skipped", "hour", k, "err", err)
		}
	}
	return cur
}

// metrics turns a report into the published metrics and the alarms.
func (m *Monitor) metrics(rep *drift.Report, t time.Time) ([]monitoring.Metric, []monitoring.Alarm) {
	var ms []monitoring.Metric
	var as []monitoring.Alarm
	labels := func(kv ...string) map[string]string {
		l := map[string]string{"model": m.Name, "version": m.Version}
		for i := 0; i+1 < len(kv); i += 2 {
			l[kv[i]] = kv[i+1]
		}
		return l
	}
	add := func(name, unit string, v float64, l map[string]string) {
		ms = append(ms, monitoring.Metric{Name: name, Value: v, Unit: unit, Labels: l, Time: t})
	}
	alarm := func(name, metric string, v, threshold float64, l map[string]string, msg string) {
		as = append(as, monitoring.Alarm{Name: name, Metric: metric, Labels: l, Value: v, Threshold: threshold, Message: msg, Time: t})
	}
	ds := rep.Dataset
	add(monitoring.MetricDriftShare, "Ratio", ds.Share, labels())
	add(monitoring.MetricDatasetDrift, "None", b2f(ds.Drifted), labels())
	if ds.Drifted {
		alarm("dataset_drift", monitoring.MetricDriftShare, ds.Share, ds.Threshold, labels(),
			fmt.Sprintf("%d of %d features drifted (share %.2f ≥ %.2f)", ds.DriftedColumns, ds.Columns, ds.Share, ds.Threshold))
	}
	for _, c := range rep.Columns {
		if c.Status == "not_enough_data" {
			continue
		}
		l := labels("feature", c.Name)
		add(monitoring.MetricFeatureDriftScore, "None", float64(c.Statistic), l)
		add(monitoring.MetricFeatureDrifted, "None", b2f(c.Drifted), l)
		if c.Drifted {
			alarm("feature_drift:"+c.Name, monitoring.MetricFeatureDrifted, float64(c.Statistic), c.Threshold, l,
				fmt.Sprintf("feature %q drifted: %s", c.Name, verdict(c)))
		}
	}
	for _, c := range rep.PredictionDrift {
		if c.Status == "not_enough_data" {
			continue
		}
		add(monitoring.MetricPredictionDrift, "None", float64(c.Statistic), labels())
		add(monitoring.MetricPredictionDrifted, "None", b2f(c.Drifted), labels())
		if c.Drifted {
			alarm("prediction_drift", monitoring.MetricPredictionDrifted, float64(c.Statistic), c.Threshold, labels(),
				"the model's output drifted: "+verdict(c))
		}
	}
	for _, q := range rep.Quality.Columns {
		if q.Name == PredictionColumn {
			continue
		}
		l := labels("feature", q.Name)
		add(monitoring.MetricMissingShare, "Ratio", q.MissingShare, l)
		add(monitoring.MetricOutOfRangeShare, "Ratio", q.OutOfRangeShare, l)
		add(monitoring.MetricUnseenCategoryShare, "Ratio", q.UnseenCategoryShare, l)
	}
	add(monitoring.MetricDataQualityIssues, "Count", float64(len(rep.Quality.Violations)), labels())
	for _, v := range rep.Quality.Violations {
		alarm("data_quality:"+v.Check+":"+v.Feature, monitoring.MetricDataQualityIssues, 1, 0, labels("feature", v.Feature), v.Description)
	}
	if p := rep.Performance; p != nil {
		names := make([]string, 0, len(p.Current))
		for n := range p.Current {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			add(monitoring.MetricPerformance, "None", p.Current[n], labels("metric", n))
		}
		add(monitoring.MetricPerformanceDrop, "Ratio", float64(p.Drop), labels("metric", p.Primary))
		if p.Degraded {
			alarm("performance_drop", monitoring.MetricPerformanceDrop, float64(p.Drop), p.Threshold, labels("metric", p.Primary),
				fmt.Sprintf("%s fell %.1f%% against the reference (threshold %.1f%%)", p.Primary, 100*float64(p.Drop), 100*p.Threshold))
		}
	}
	return ms, as
}

// healthMetrics describe the run itself.
func (m *Monitor) healthMetrics(res *Result) []monitoring.Metric {
	l := map[string]string{"model": m.Name, "version": m.Version}
	h := res.Health
	out := []monitoring.Metric{}
	for _, x := range []struct {
		name, unit string
		v          float64
	}{
		{monitoring.MetricWindowRows, "Count", float64(res.WindowRows)},
		{monitoring.MetricObjectsRead, "Count", float64(h.ObjectsRead)},
		{monitoring.MetricRecordsRead, "Count", float64(h.Records)},
		{monitoring.MetricCorruptObjects, "Count", float64(h.CorruptObjects)},
		{monitoring.MetricLabelsJoined, "Count", float64(h.LabelsJoined)},
		{monitoring.MetricRunSeconds, "Seconds", res.Duration.Seconds()},
	} {
		out = append(out, monitoring.Metric{Name: x.name, Value: x.v, Unit: x.unit, Labels: l, Time: res.Time})
	}
	return out
}

// writeReport stores the run's result beside the checkpoint, for people
// and dashboards: reports/latest.json, and reports/latest.html (the drift
// report as one self-contained page) when the window was judged.
func (m *Monitor) writeReport(ctx context.Context, res *Result) error {
	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	enc.SetIndent("", "  ")
	if err := enc.Encode(res); err != nil {
		return err
	}
	files := map[string][]byte{"latest.json": js.Bytes()}
	if res.Report != nil {
		var page bytes.Buffer
		if err := render.HTML(&page, res.Report); err != nil {
			return err
		}
		files["latest.html"] = page.Bytes()
	}
	for name, data := range files {
		key := m.StatePrefix + "reports/" + name
		ct := "application/json"
		if strings.HasSuffix(name, ".html") {
			ct = "text/html; charset=utf-8"
		}
		if err := m.Bucket.WriteAll(ctx, key, data, &blob.WriterOptions{ContentType: ct}); err != nil {
			return fmt.Errorf("monitor report %s: %w", key, err)
		}
	}
	return nil
}

// verdict says what crossed which threshold: the p-value for tests that
// have one, the distance otherwise.
func verdict(c drift.ColumnResult) string {
	if p := float64(c.PValue); !math.IsNaN(p) {
		return fmt.Sprintf("%s p-value %.3g < %.3g (statistic %.4g)", c.Method, p, c.Threshold, float64(c.Statistic))
	}
	return fmt.Sprintf("%s %.4g ≥ %.4g", c.Method, float64(c.Statistic), c.Threshold)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func argmax(v []float64) int {
	best := 0
	for i := range v {
		if v[i] > v[best] {
			best = i
		}
	}
	return best
}
