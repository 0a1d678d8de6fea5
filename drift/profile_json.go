package drift

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/modelfn/modelfn/drift/sketch"
)

// profileVersion is the version of the profile's JSON form.
const profileVersion = 1

type profileJSON struct {
	Version int             `json:"version"`
	Options optionsJSON     `json:"options"`
	Rows    int64           `json:"rows"`
	Columns []profileColumn `json:"columns"`
}

type optionsJSON struct {
	SampleCap     int `json:"sample_cap"`
	SketchK       int `json:"sketch_k"`
	MaxCategories int `json:"max_categories"`
}

type profileColumn struct {
	Name        string       `json:"name"`
	Kind        string       `json:"kind"`
	Role        string       `json:"role,omitempty"`
	Min         *float64     `json:"allowed_min,omitempty"`
	Max         *float64     `json:"allowed_max,omitempty"`
	Categories  []string     `json:"allowed_categories,omitempty"`
	Numeric     *numericJSON `json:"numeric,omitempty"`
	Categorical *catJSON     `json:"categorical,omitempty"`
}

type numericJSON struct {
	Seen       int64        `json:"seen"`
	Missing    int64        `json:"missing,omitempty"`
	NonFinite  int64        `json:"non_finite,omitempty"`
	TypeErrors int64        `json:"type_errors,omitempty"`
	OutOfRange int64        `json:"out_of_range,omitempty"`
	Mean       float64      `json:"mean"`
	M2         float64      `json:"m2"`
	Min        *float64     `json:"min,omitempty"`
	Max        *float64     `json:"max,omitempty"`
	Exact      bool         `json:"exact"`
	Values     []float64    `json:"values"`
	Sketch     *sketch.KLL  `json:"sketch,omitempty"`
	Distinct   [][2]float64 `json:"distinct,omitempty"`
	Many       bool         `json:"many_distinct,omitempty"`
	RNG        uint64       `json:"rng"`
}

type catJSON struct {
	Seen       int64            `json:"seen"`
	Missing    int64            `json:"missing,omitempty"`
	TypeErrors int64            `json:"type_errors,omitempty"`
	Unseen     int64            `json:"unseen,omitempty"`
	Other      int64            `json:"other,omitempty"`
	Counts     map[string]int64 `json:"counts"`
}

func kindName(k ColumnKind) string { return k.String() }

func parseKind(s string) (ColumnKind, error) {
	switch s {
	case "numeric":
		return Numeric, nil
	case "categorical":
		return Categorical, nil
	}
	return 0, fmt.Errorf("unknown column kind %q", s)
}

func parseRole(s string) (Role, error) {
	switch s {
	case "", "feature":
		return Feature, nil
	case "prediction":
		return Prediction, nil
	case "target":
		return Target, nil
	}
	return 0, fmt.Errorf("unknown column role %q", s)
}

// MarshalJSON writes the profile compactly: its size is bounded by the
// sample cap, the sketch and the category cap, never by the rows.
func (p *Profile) MarshalJSON() ([]byte, error) {
	j := profileJSON{Version: profileVersion, Rows: p.rows,
		Options: optionsJSON{p.opt.SampleCap, p.opt.SketchK, p.opt.MaxCategories}}
	for i, c := range p.cols {
		pc := profileColumn{Name: c.Name, Kind: kindName(c.Kind), Min: c.Min, Max: c.Max, Categories: c.Categories}
		if c.Role != Feature {
			pc.Role = c.Role.String()
		}
		if nc := p.num[i]; nc != nil {
			nj := &numericJSON{Seen: nc.seen, Missing: nc.missing, NonFinite: nc.nonFinite, TypeErrors: nc.typeErrors,
				OutOfRange: nc.outOfRange, Mean: nc.mean, M2: nc.m2, Exact: nc.sk == nil, Values: nc.values,
				Sketch: nc.sk, Many: nc.manyDistinct, RNG: nc.rng}
			if nj.Values == nil {
				nj.Values = []float64{}
			}
			if nc.seen > 0 {
				lo, hi := nc.min, nc.max
				nj.Min, nj.Max = &lo, &hi
			}
			for _, vc := range nc.few {
				nj.Distinct = append(nj.Distinct, [2]float64{vc.V, float64(vc.N)})
			}
			pc.Numeric = nj
		} else {
			cc := p.cat[i]
			pc.Categorical = &catJSON{Seen: cc.seen, Missing: cc.missing, TypeErrors: cc.typeErrors,
				Unseen: cc.unseen, Other: cc.other, Counts: cc.counts}
		}
		j.Columns = append(j.Columns, pc)
	}
	return json.Marshal(j)
}

// UnmarshalJSON restores a profile written by MarshalJSON; the result
// merges and compares exactly as the original.
func (p *Profile) UnmarshalJSON(b []byte) error {
	var j profileJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("drift: profile: %w", err)
	}
	if j.Version != profileVersion {
		return fmt.Errorf("drift: profile: version %d, want %d", j.Version, profileVersion)
	}
	cols := make([]Column, len(j.Columns))
	for i, pc := range j.Columns {
		k, err := parseKind(pc.Kind)
		if err != nil {
			return fmt.Errorf("drift: profile column %q: %w", pc.Name, err)
		}
		r, err := parseRole(pc.Role)
		if err != nil {
			return fmt.Errorf("drift: profile column %q: %w", pc.Name, err)
		}
		cols[i] = Column{Name: pc.Name, Kind: k, Role: r, Min: pc.Min, Max: pc.Max, Categories: pc.Categories}
		if (k == Numeric) != (pc.Numeric != nil) || (k == Categorical) != (pc.Categorical != nil) {
			return fmt.Errorf("drift: profile column %q: %s column without its %s summary", pc.Name, k, k)
		}
	}
	if j.Options.SampleCap < 1 || j.Options.SketchK < 1 || j.Options.MaxCategories < 1 || j.Rows < 0 {
		return fmt.Errorf("drift: profile: options %+v, rows %d", j.Options, j.Rows)
	}
	np := NewProfile(cols, ProfileOptions{j.Options.SampleCap, j.Options.SketchK, j.Options.MaxCategories})
	np.rows = j.Rows
	for i, pc := range j.Columns {
		if nj := pc.Numeric; nj != nil {
			if err := nj.check(j.Options.SampleCap); err != nil {
				return fmt.Errorf("drift: profile column %q: %w", pc.Name, err)
			}
			nc := np.num[i]
			nc.seen, nc.missing, nc.nonFinite, nc.typeErrors, nc.outOfRange = nj.Seen, nj.Missing, nj.NonFinite, nj.TypeErrors, nj.OutOfRange
			nc.mean, nc.m2, nc.values, nc.sk, nc.manyDistinct, nc.rng = nj.Mean, nj.M2, nj.Values, nj.Sketch, nj.Many, nj.RNG
			if nj.Min != nil && nj.Max != nil {
				nc.min, nc.max = *nj.Min, *nj.Max
			} else {
				nc.min, nc.max = math.Inf(1), math.Inf(-1)
			}
			for _, d := range nj.Distinct {
				nc.few = append(nc.few, valCount{d[0], int64(d[1])})
			}
			if nj.Exact != (nc.sk == nil) || (nj.Exact && int64(len(nc.values)) != nc.seen) {
				return fmt.Errorf("drift: profile column %q: exact=%v with %d values for %d seen", pc.Name, nj.Exact, len(nc.values), nc.seen)
			}
			if nc.sk != nil && nc.sk.N() != nc.seen {
				return fmt.Errorf("drift: profile column %q: sketch holds %d values for %d seen", pc.Name, nc.sk.N(), nc.seen)
			}
		} else {
			cj := pc.Categorical
			if err := cj.check(j.Options.MaxCategories); err != nil {
				return fmt.Errorf("drift: profile column %q: %w", pc.Name, err)
			}
			cc := np.cat[i]
			cc.seen, cc.missing, cc.typeErrors, cc.unseen, cc.other = cj.Seen, cj.Missing, cj.TypeErrors, cj.Unseen, cj.Other
			if cj.Counts != nil {
				cc.counts = cj.Counts
			}
		}
	}
	*p = *np
	return nil
}

// check rejects categorical summaries no profile could have written: each
// value seen is counted under its category or, past the cap, as other (a
// summary whose counts fell short had the comparisons index categories
// that were not there).
func (cj *catJSON) check(maxCategories int) error {
	if cj.Seen < 0 || cj.Missing < 0 || cj.TypeErrors < 0 || cj.Unseen < 0 || cj.Other < 0 {
		return fmt.Errorf("negative count")
	}
	if len(cj.Counts) > maxCategories {
		return fmt.Errorf("%d categories counted with a cap of %d", len(cj.Counts), maxCategories)
	}
	counted := cj.Other
	for k, n := range cj.Counts {
		if n < 1 || k == "" {
			return fmt.Errorf("count %d for category %q", n, k)
		}
		if counted += n; counted < 0 {
			return fmt.Errorf("counts overflow")
		}
	}
	if counted != cj.Seen || cj.Unseen > cj.Seen {
		return fmt.Errorf("%d values seen, %d counted (other %d), %d unseen", cj.Seen, counted, cj.Other, cj.Unseen)
	}
	return nil
}

// check rejects numeric summaries no profile could have written.
func (nj *numericJSON) check(sampleCap int) error {
	if nj.Seen < 0 || nj.Missing < 0 || nj.NonFinite < 0 || nj.TypeErrors < 0 || nj.OutOfRange < 0 {
		return fmt.Errorf("negative count")
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	if !finite(nj.Mean) || !finite(nj.M2) || nj.M2 < 0 {
		return fmt.Errorf("mean %v, m2 %v", nj.Mean, nj.M2)
	}
	if nj.Seen > 0 && (nj.Min == nil || nj.Max == nil || *nj.Min > *nj.Max) {
		return fmt.Errorf("%d values seen without a valid min and max", nj.Seen)
	}
	if len(nj.Values) > sampleCap || int64(len(nj.Values)) > nj.Seen {
		return fmt.Errorf("%d values kept for %d seen with a cap of %d", len(nj.Values), nj.Seen, sampleCap)
	}
	if nj.Exact == (nj.Sketch != nil) {
		return fmt.Errorf("exact=%v with sketch=%v", nj.Exact, nj.Sketch != nil)
	}
	var distinct int64
	for _, d := range nj.Distinct {
		if d[1] < 1 {
			return fmt.Errorf("distinct value %v counted %v times", d[0], d[1])
		}
		distinct += int64(d[1])
	}
	if len(nj.Distinct) > maxFew || (!nj.Many && distinct != nj.Seen) || (nj.Many && len(nj.Distinct) > 0) {
		return fmt.Errorf("distinct counts (%d values, many=%v) disagree with %d seen", len(nj.Distinct), nj.Many, nj.Seen)
	}
	return nil
}
