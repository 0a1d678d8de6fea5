package monitor

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/modelfn/modelfn/drift"
	"github.com/modelfn/modelfn/drift/timeline"
	"github.com/modelfn/modelfn/functions/monitoring"
)

// hourScore is an hour's drift severity per column (features, then the
// prediction), kept after the hour's profile leaves the window so that
// drift over time can be read over a longer history.
type hourScore struct {
	Start    time.Time   `json:"start"`
	Severity []drift.Num `json:"severity"` // null: no verdict (too few rows)
}

// maxHistory bounds the hourly history: 30 days.
const maxHistory = 30 * 24

// scoreHour compares one hour with the reference, once per change of the
// hour's profile.
func (m *Monitor) scoreHour(start time.Time, h *hour) hourScore {
	if h.Score != nil && h.Score.Start.Equal(start) {
		return *h.Score
	}
	sc := m.compareHour(start, h)
	h.Score = &sc
	return sc
}

func (m *Monitor) compareHour(start time.Time, h *hour) hourScore {
	names := m.columnNames()
	sc := hourScore{Start: start, Severity: make([]drift.Num, len(names))}
	for i := range sc.Severity {
		sc.Severity[i] = drift.Num(math.NaN())
	}
	if h.Profile.Rows() < m.Config.MinRows {
		return sc
	}
	s := timeline.Series{Features: names}
	s.AddReport(start, start.Add(time.Hour), drift.Compare(m.Reference, h.Profile, m.driftConfig()))
	for i, v := range s.Windows[0].Severity[:len(names)] {
		sc.Severity[i] = drift.Num(v)
	}
	return sc
}

func (m *Monitor) columnNames() []string {
	cols := m.columns()
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return names
}

// episodes finds drift episodes over the kept history and the window's
// hours, and names their type.
func (m *Monitor) episodes(st *state, windowHours []string) ([]timeline.Episode, error) {
	scores := append([]hourScore(nil), st.History...)
	for _, k := range windowHours {
		t, _ := time.Parse(hourLayout, k)
		scores = append(scores, m.scoreHour(t, st.Hours[k]))
	}
	sort.Slice(scores, func(i, j int) bool { return scores[i].Start.Before(scores[j].Start) })
	s := timeline.Series{Features: m.columnNames()}
	for _, sc := range scores {
		w := timeline.Window{Start: sc.Start, End: sc.Start.Add(time.Hour), Severity: make([]float64, len(sc.Severity))}
		for i, v := range sc.Severity {
			w.Severity[i] = float64(v)
		}
		s.Windows = append(s.Windows, w)
	}
	return timeline.Detect(&s, timeline.Options{})
}

// episodeAlarms raise one alarm per ongoing episode, saying its kind.
func (m *Monitor) episodeAlarms(eps []timeline.Episode, t time.Time) []monitoring.Alarm {
	var as []monitoring.Alarm
	for _, e := range eps {
		if !e.Ongoing {
			continue
		}
		as = append(as, monitoring.Alarm{
			Name: "drift_episode:" + e.Type, Metric: monitoring.MetricFeatureDrifted,
			Labels: map[string]string{"model": m.Name, "version": m.Version, "type": e.Type},
			Value:  e.Score, Threshold: 1, Time: t,
			Message: fmt.Sprintf("%s drift since %s on %s (severity %.2f× the threshold)",
				e.Type, e.Start.Format(time.RFC3339), strings.Join(e.Features, ", "), e.Score),
		})
	}
	return as
}
