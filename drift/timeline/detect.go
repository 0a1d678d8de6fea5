package timeline

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/modelfn/modelfn/drift"
)

// Episode types.
const (
	Sudden    = "sudden"
	Gradual   = "gradual"
	Periodic  = "periodic"
	Temporary = "temporary"
)

// Options tune Detect. Zero fields take the defaults in brackets.
type Options struct {
	// K and H are the CUSUM's reference value and decision interval, in
	// baseline standard deviations [1 and 8].
	K, H float64
	// MinStd is the smallest baseline standard deviation, in severity
	// units [0.05: a twentieth of the threshold].
	MinStd float64
	// Baselines gives a feature's drift-free level and noise (see
	// EstimateBaseline). Features without one are estimated, starting
	// from the series' first Warmup windows [24], at most half the series.
	Baselines map[string]Baseline
	Warmup    int
	// SuddenWindows is the longest rise, in windows, of a sudden drift [3].
	SuddenWindows int
	// MinWindows is how many drifted windows (severity >= 1) an episode
	// has at least [3].
	MinWindows int
	// MinLevel is how far above the baseline, in baseline standard
	// deviations, an episode's plateau is at least [3].
	MinLevel float64
	// MinCycles is how many periods (onset to onset) a periodic drift
	// shows at least [2].
	MinCycles int
	// PeriodTolerance is how far, relative to the first period, each
	// later one may be [0.25]; at least one window is always allowed.
	PeriodTolerance float64
	// GroupWindows: episodes of one type on different features whose
	// onsets are at most this many windows apart form one episode [6].
	GroupWindows int
}

func (o Options) withDefaults() Options {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	defInt := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.K, 1)
	def(&o.H, 8)
	def(&o.MinStd, 0.05)
	def(&o.PeriodTolerance, 0.25)
	def(&o.MinLevel, 3)
	defInt(&o.SuddenWindows, 3)
	defInt(&o.MinWindows, 3)
	defInt(&o.MinCycles, 2)
	defInt(&o.GroupWindows, 6)
	defInt(&o.Warmup, 24)
	return o
}

func (o Options) validate() error {
	if o.K <= 0 || o.H <= 0 || o.MinStd <= 0 || o.PeriodTolerance < 0 ||
		o.SuddenWindows < 1 || o.MinWindows < 1 || o.MinLevel < 0 || o.MinCycles < 1 || o.GroupWindows < 0 || o.Warmup < 1 {
		return fmt.Errorf("timeline: options out of range: %+v", o)
	}
	return nil
}

// Episode is a drift episode with the details behind it.
type Episode struct {
	drift.Episode
	// Ongoing is set when the drift had not reverted by the last window;
	// End is then the last window's end.
	Ongoing bool `json:"ongoing"`
	// FromWindow and ToWindow index the series: the first drifted window
	// and the first window back at baseline (len(windows) when ongoing).
	FromWindow int `json:"from_window"`
	ToWindow   int `json:"to_window"`
	// Period and Cycles describe a periodic episode: the mean time from
	// one onset to the next, and how many such periods were seen.
	Period time.Duration `json:"period_ns,omitempty"`
	Cycles int           `json:"cycles,omitempty"`
}

// ForReport returns the episodes as drift.Report.Episodes holds them.
func ForReport(eps []Episode) []drift.Episode {
	out := make([]drift.Episode, len(eps))
	for i, e := range eps {
		out[i] = e.Episode
		out[i].Features = slices.Clone(e.Features)
	}
	return out
}

// Detect finds the drift episodes of a series and classifies them (see the
// package documentation for the rules), ordered by start.
func Detect(s *Series, opt Options) ([]Episode, error) {
	opt = opt.withDefaults()
	if err := opt.validate(); err != nil {
		return nil, err
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	var found []finding
	z := make([]float64, len(s.Windows))
	sev := make([]float64, len(s.Windows))
	for f, name := range s.Features {
		for t, w := range s.Windows {
			sev[t] = w.Severity[f]
		}
		base, given := opt.Baselines[name]
		if !given {
			var ok bool
			if base, ok = estimate(sev, opt.Warmup, opt.MinStd); !ok {
				continue // too few windows to know what drift-free looks like
			}
		}
		segs := detectFeature(sev, z, base, opt)
		// An estimated baseline is refined from every window outside the
		// episodes found with it, until it settles: a short warm-up is a
		// noisy estimate, and windows judged drift-free add evidence.
		for range maxRefinements {
			if given {
				break
			}
			next, ok := outside(sev, segs, opt.MinStd)
			if !ok || next == base {
				break
			}
			base = next
			segs = detectFeature(sev, z, base, opt)
		}
		found = append(found, classify(f, segs, z, sev, opt)...)
	}
	return s.group(found, opt), nil
}

// maxRefinements bounds the re-estimation of a baseline.
const maxRefinements = 5

// detectFeature standardises one feature's severities into z and returns
// its drift segments worth reporting.
func detectFeature(sev, z []float64, base Baseline, opt Options) []segment {
	std := max(base.Std, opt.MinStd)
	for t, v := range sev {
		z[t] = (v - base.Mean) / std
	}
	return keep(segments(z, sev, opt), sev, z, opt)
}

// outside is the mean and standard deviation of the valid windows outside
// the segments; ok is false when fewer than minBaselineWindows remain.
func outside(sev []float64, segs []segment, minStd float64) (b Baseline, ok bool) {
	x := make([]float64, 0, len(sev))
	next := 0
	for _, sg := range segs {
		x = appendValid(x, sev[next:sg.from])
		next = sg.to
	}
	x = appendValid(x, sev[next:])
	if len(x) < minBaselineWindows {
		return Baseline{}, false
	}
	return meanStd(x, minStd), true
}

func meanStd(x []float64, minStd float64) Baseline {
	var m, ss float64
	for _, v := range x {
		m += v
	}
	m /= float64(len(x))
	for _, v := range x {
		ss += (v - m) * (v - m)
	}
	return Baseline{Mean: m, Std: max(math.Sqrt(ss/float64(len(x)-1)), minStd)}
}

func (s *Series) check() error {
	for t, w := range s.Windows {
		if len(w.Severity) != len(s.Features) {
			return fmt.Errorf("timeline: window %d (%s): %d severities for %d features", t, w.Start.Format(time.RFC3339), len(w.Severity), len(s.Features))
		}
		if t > 0 && w.Start.Before(s.Windows[t-1].Start) {
			return fmt.Errorf("timeline: window %d starts at %s, before window %d: %w", t, w.Start.Format(time.RFC3339), t-1, ErrUnordered)
		}
	}
	return nil
}

// ErrUnordered is returned (wrapped) by Detect for windows out of time order.
var ErrUnordered = errors.New("windows are not in time order")

// estimate is the first baseline, from the warm-up: the first valid
// windows, at most Warmup and at most half the series (Phase I of a
// control chart), by EstimateBaseline's median and MAD so that a drift
// beginning inside the warm-up does not carry it away. ok is false when
// there are fewer than minBaselineWindows of them.
func estimate(sev []float64, warmup int, minStd float64) (b Baseline, ok bool) {
	var calm []float64
	limit := min(warmup, len(sev)/2)
	for _, v := range sev {
		if len(calm) == limit {
			break
		}
		if !math.IsNaN(v) {
			calm = append(calm, v)
		}
	}
	if len(calm) < minBaselineWindows {
		return Baseline{}, false
	}
	return EstimateBaseline(calm, minStd), true
}

// segment is a stretch of drift on one feature: windows [from, to), where
// to is the first window back at baseline, or len(windows) when ongoing.
type segment struct {
	from, to int
	ongoing  bool
}

// segments runs the change detectors over one standardised feature series
// (NaN windows skipped).
//
// At baseline, Page's CUSUM for an increase (reference value K) finds an
// onset, dated by glrOnset.
//
// In drift, two more CUSUMs watch the series against the episode's level L
// (the mean z since its onset). One looks for the return to baseline: it
// sums L/2 - z, the log-likelihood ratio of "baseline" (mean 0) against
// "level L", scaled by 1/L, so it falls away fast from a high plateau and
// rises fast once z is back near 0; its last zero dates the return. The
// other looks for a further increase (z - L, reference value K): when the
// part before that increase is not drift by the threshold's verdict (see
// isDrift) it was a noise excursion or a sub-threshold lead-in, and the
// episode restarts at the increase. Each detector restarts from its change
// point, so windows between a change and its alarm are looked at again.
func segments(z, sev []float64, opt Options) []segment {
	var segs []segment
	idx := make([]int, 0, len(z))
	for i := 0; i < len(z); {
		up := CUSUM{K: opt.K, H: opt.H}
		idx = idx[:0]
		from := -1
		for ; i < len(z); i++ {
			if math.IsNaN(z[i]) {
				continue
			}
			idx = append(idx, i)
			if up.Add(z[i]) {
				from = glrOnset(z, idx[up.Onset():], 0)
				break
			}
		}
		if from < 0 {
			break
		}
		to := drifting(z, sev, &from, opt)
		if to < 0 {
			segs = append(segs, segment{from: from, to: len(z), ongoing: true})
			break
		}
		segs = append(segs, segment{from: from, to: to})
		i = to
	}
	return segs
}

// drifting follows an episode from *from and returns the window at which
// the series is back at baseline, or -1 if it never is. It moves *from
// forward when the episode restarts at a further increase.
func drifting(z, sev []float64, from *int, opt Options) int {
	for {
		to, restart := follow(z, sev, *from, opt)
		if restart < 0 {
			return to
		}
		*from = restart
	}
}

// follow watches one episode from window from. It returns where the series
// is back at baseline (to, -1 if never), or, when a further increase comes
// after a part that is not drift, where the episode should restart
// (restart >= 0).
func follow(z, sev []float64, from int, opt Options) (to, restart int) {
	back := CUSUM{K: 0, H: opt.H}
	more := CUSUM{K: opt.K, H: opt.H}
	var backIdx, moreIdx []int
	var sum float64
	n := 0
	confirmed := false // the episode so far is drift: no need to watch for a restart
	for j := from; j < len(z); j++ {
		if math.IsNaN(z[j]) {
			continue
		}
		if n > 0 && !confirmed {
			level := sum / float64(n)
			moreIdx = append(moreIdx, j)
			if more.Add(z[j] - level) {
				at := glrOnset(z, moreIdx[more.Onset():], level)
				before := segment{from: from, to: at}
				if confirmed = isDrift(sev, z, before, opt); !confirmed &&
					(at-from >= opt.MinWindows || !atDriftLevel(sev, z, before, opt)) {
					return -1, at
				}
				more.Reset()
				moreIdx = moreIdx[:0]
			}
		}
		n++
		sum += z[j]
		level := sum / float64(n)
		backIdx = append(backIdx, j)
		if back.Add(level/2 - z[j]) {
			return backIdx[back.Onset()], -1
		}
	}
	return -1, -1
}

// glrOnset is the maximum-likelihood change point for a shift of unknown
// size from mean level (unit variance) among the windows since the CUSUM was
// last 0, up to the alarm: the t that maximises (sum of z from t to the
// alarm, less level)^2 / (number of windows), over positive sums (the generalised
// likelihood ratio of Siegmund and Venkatraman 1995, "Using the generalized
// likelihood ratio statistic for sequential detection of a change-point",
// Ann. Statist. 23). The CUSUM's own estimate is exact only for the shift it
// is tuned to (2K); a larger, sudden one would be dated early by any noise
// left in the sum before it.
func glrOnset(z []float64, since []int, level float64) int {
	best, bestScore := since[len(since)-1], math.Inf(-1)
	var sum float64
	for k := len(since) - 1; k >= 0; k-- {
		sum += z[since[k]] - level
		n := float64(len(since) - k)
		if score := sum * sum / n; sum > 0 && score > bestScore {
			best, bestScore = since[k], score
		}
	}
	return best
}

// keep keeps the segments that are drift (isDrift).
func keep(segs []segment, sev, z []float64, opt Options) []segment {
	out := segs[:0]
	for _, sg := range segs {
		if isDrift(sev, z, sg, opt) {
			out = append(out, sg)
		}
	}
	return out
}

// isDrift says whether a segment is drift worth reporting. The detectors
// find changes; the threshold decides whether they matter: at least
// MinWindows windows drifted (severity >= 1), and so did the segment's
// plateau (the median of its second half). And the plateau stands out
// from the noise: at least MinLevel baseline standard deviations above
// the baseline, as a Shewhart chart's 3-sigma limit asks, for a threshold
// that sits inside the noise would otherwise pass a run of noisy windows.
func isDrift(sev, z []float64, sg segment, opt Options) bool {
	drifted := 0
	for _, v := range sev[sg.from:sg.to] {
		if v >= 1 {
			drifted++
		}
	}
	return drifted >= opt.MinWindows && atDriftLevel(sev, z, sg, opt)
}

// atDriftLevel is isDrift without the count of drifted windows, to judge a
// stretch too short to have them.
func atDriftLevel(sev, z []float64, sg segment, opt Options) bool {
	return plateau(sev, sg) >= 1 && plateau(z, sg) >= opt.MinLevel
}

// finding is one feature's classified episode.
type finding struct {
	feature  int
	typ      string
	from, to int
	ongoing  bool
	period   float64 // windows from onset to onset
	cycles   int
	score    float64
}

// classify names one feature's segments: runs of at least MinCycles+1
// regularly spaced onsets are periodic; any other segment that reverted is
// temporary; one still on at the end is sudden when it reached its plateau
// within SuddenWindows windows of its onset, gradual otherwise.
func classify(feature int, segs []segment, z, sev []float64, opt Options) []finding {
	var out []finding
	n := len(z)
	for i := 0; i < len(segs); {
		j := i + 1
		if j < len(segs) {
			first := float64(segs[j].from - segs[i].from)
			tol := max(1, opt.PeriodTolerance*first)
			for j < len(segs) && math.Abs(float64(segs[j].from-segs[j-1].from)-first) <= tol {
				j++
			}
		}
		if cycles := j - 1 - i; cycles >= opt.MinCycles {
			run := segs[i:j]
			last := run[len(run)-1]
			period := float64(last.from-run[0].from) / float64(cycles)
			var on []float64
			for _, sg := range run {
				on = appendValid(on, sev[sg.from:sg.to])
			}
			// Still periodic at the end if the next onset is not yet overdue.
			ongoing := last.ongoing || float64(last.from)+period*(1+opt.PeriodTolerance)+1 >= float64(n)
			to := last.to
			if ongoing {
				to = n
			}
			out = append(out, finding{feature: feature, typ: Periodic, from: run[0].from, to: to, ongoing: ongoing,
				period: period, cycles: cycles, score: median(on)})
			i = j
			continue
		}
		sg := segs[i]
		fd := finding{feature: feature, from: sg.from, to: sg.to, ongoing: sg.ongoing, score: plateau(sev, sg)}
		switch r := rise(z, sg); {
		case !sg.ongoing:
			fd.typ = Temporary
		case r <= opt.SuddenWindows:
			fd.typ = Sudden
		default:
			fd.typ = Gradual
			lo := 0
			if i > 0 {
				lo = segs[i-1].to
			}
			fd.from = rampStart(z, sg.from, sg.from+r, lo)
		}
		out = append(out, fd)
		i++
	}
	return out
}

func appendValid(dst, x []float64) []float64 {
	for _, v := range x {
		if !math.IsNaN(v) {
			dst = append(dst, v)
		}
	}
	return dst
}

// plateau is the median of the second half of a segment's valid values.
func plateau(x []float64, sg segment) float64 {
	v := appendValid(make([]float64, 0, sg.to-sg.from), x[sg.from:sg.to])
	if len(v) == 0 {
		return math.NaN()
	}
	return median(v[len(v)/2:])
}

// rise counts the windows from a segment's onset to the first one at its
// plateau P (median z of the segment's second half): z >= min(0.9 P, P-2),
// 90% of the way, or within two noise standard deviations of it.
func rise(z []float64, sg segment) int {
	p := plateau(z, sg)
	target := min(0.9*p, p-2)
	for t := sg.from; t < sg.to; t++ {
		if z[t] >= target {
			return t - sg.from + 1
		}
	}
	return sg.to - sg.from
}

// rampStart dates the start of a gradual rise: the least-squares line
// through the rise (the unbroken run of windows above 10% of the plateau
// that ends at the first window at the plateau, top) is extrapolated back
// to the baseline (z = 0), as the 10-90% rise of a step response is. The
// detectors only alarm once a ramp stands out from the noise, so the onset
// they find comes late by the ramp's first, noise-deep stretch; the line
// recovers most of it. The result stays within [lo, from]; lo is where the
// previous episode on the feature ended.
func rampStart(z []float64, from, top, lo int) int {
	p := plateau(z, segment{from: from, to: len(z)})
	first := top
	for t := top - 1; t >= lo && (math.IsNaN(z[t]) || z[t] >= 0.1*p); t-- {
		first = t
	}
	var n, st, sz, stt, stz float64
	for t := first; t <= top && t < len(z); t++ {
		if math.IsNaN(z[t]) {
			continue
		}
		x := float64(t)
		n, st, sz, stt, stz = n+1, st+x, sz+z[t], stt+x*x, stz+x*z[t]
	}
	den := n*stt - st*st
	if n < 3 || den == 0 {
		return from
	}
	slope := (n*stz - st*sz) / den
	if slope <= 0 {
		return from
	}
	cross := st/n - (sz/n)/slope // where the line is at z = 0
	return min(from, max(lo, int(math.Floor(cross))+1))
}

// group merges findings of one type on different features whose onsets
// are at most GroupWindows apart (and, when periodic, whose periods agree
// within PeriodTolerance) into episodes, ordered by start.
func (s *Series) group(found []finding, opt Options) []Episode {
	slices.SortStableFunc(found, func(a, b finding) int {
		if a.typ != b.typ {
			return cmp.Compare(a.typ, b.typ)
		}
		return a.from - b.from
	})
	type acc struct {
		finding
		features []int
	}
	var groups []*acc
	var open *acc
	for _, f := range found {
		joins := open != nil && open.typ == f.typ && f.from-open.from <= opt.GroupWindows &&
			!slices.Contains(open.features, f.feature) &&
			(f.typ != Periodic || math.Abs(f.period-open.period) <= max(1, opt.PeriodTolerance*open.period))
		if !joins {
			open = &acc{finding: f}
			groups = append(groups, open)
		} else {
			open.to = max(open.to, f.to)
			open.ongoing = open.ongoing || f.ongoing
			open.score = max(open.score, f.score)
			open.cycles = max(open.cycles, f.cycles)
		}
		open.features = append(open.features, f.feature)
	}
	n := len(s.Windows)
	eps := make([]Episode, 0, len(groups))
	for _, g := range groups {
		slices.Sort(g.features)
		names := make([]string, len(g.features))
		for i, f := range g.features {
			names[i] = s.Features[f]
		}
		e := Episode{Episode: drift.Episode{Type: g.typ, Start: s.Windows[g.from].Start, Features: names, Score: g.score},
			Ongoing: g.ongoing, FromWindow: g.from, ToWindow: g.to, Cycles: g.cycles}
		if g.ongoing || g.to >= n {
			e.End, e.ToWindow = s.Windows[n-1].End, n
		} else {
			e.End = s.Windows[g.to].Start
		}
		if g.typ == Periodic {
			e.Period = time.Duration(g.period * float64(s.Windows[n-1].End.Sub(s.Windows[0].Start)) / float64(n))
		}
		eps = append(eps, e)
	}
	slices.SortStableFunc(eps, func(a, b Episode) int { return a.FromWindow - b.FromWindow })
	return eps
}
