package monitor

import (
	"strconv"
	"strings"
	"time"

	"github.com/modelfn/modelfn/drift/perf"
	"github.com/modelfn/modelfn/functions/predlog"
	"github.com/modelfn/modelfn/runtime"
)

// performance accumulates labelled predictions: a classifier's or a
// regressor's, whichever the model is.
type performance struct {
	info  runtime.Info
	Class *perf.Classification `json:"classification,omitempty"`
	Reg   *perf.Regression     `json:"regression,omitempty"`
}

func newPerformance(info runtime.Info) *performance {
	p := &performance{info: info}
	if info.Task == runtime.Regression {
		p.Reg = perf.NewRegression()
		return p
	}
	positive := ""
	if len(info.Classes) == 2 {
		positive = info.Classes[1]
	}
	p.Class = perf.NewClassification(positive)
	return p
}

// add joins one label with the model's output for it; false when the label
// is not a class of the model (or not a number, for a regressor).
func (p *performance) add(label string, out []float64) bool {
	label = strings.TrimSpace(label)
	if p.Reg != nil {
		y, err := strconv.ParseFloat(label, 64)
		if err != nil {
			return false
		}
		p.Reg.Add(y, out[0])
		return true
	}
	truth, ok := p.className(label)
	if !ok {
		return false
	}
	score := runtime.NaN
	if len(out) == 2 {
		score = out[1]
	}
	p.Class.Add(truth, p.info.Classes[argmax(out)], score)
	return true
}

// className accepts a class name, or its index ("0", "1", 1.0).
func (p *performance) className(label string) (string, bool) {
	for _, c := range p.info.Classes {
		if c == label {
			return c, true
		}
	}
	if f, err := strconv.ParseFloat(label, 64); err == nil && f == float64(int(f)) && int(f) >= 0 && int(f) < len(p.info.Classes) {
		return p.info.Classes[int(f)], true
	}
	return "", false
}

func (p *performance) merge(o *performance) error {
	if p.Reg != nil && o.Reg != nil {
		p.Reg.Merge(o.Reg)
		return nil
	}
	if p.Class != nil && o.Class != nil {
		return p.Class.Merge(o.Class)
	}
	return nil
}

func (p *performance) accumulator() perf.Accumulator {
	if p.Reg != nil {
		return p.Reg
	}
	return p.Class
}

func (p *performance) metrics() map[string]float64 {
	if p.accumulator().Rows() == 0 {
		return nil
	}
	return p.accumulator().Metrics()
}

// addLabel adds a label to the performance of its prediction's hour.
func (m *Monitor) addLabel(st *state, e predlog.Entry, label string) bool {
	t, _ := predlog.IDTime(e.ID)
	h := m.hourOf(st, t)
	if h.Perf == nil {
		h.Perf = newPerformance(m.Info)
		if h.Perf.Class != nil {
			hours := int(m.Config.Window / time.Hour)
			h.Perf.Class.ScoreCap = max(1000, perf.DefaultScoreCap/max(hours, 1))
		}
	}
	h.Perf.info = m.Info
	return h.Perf.add(label, e.Out)
}
