package timeline_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/modelfn/modelfn/drift/stats"
	"github.com/modelfn/modelfn/drift/timeline"
	"github.com/modelfn/modelfn/testing/driftsim"
)

func column(rows [][]float64, j int) []float64 {
	x := make([]float64, len(rows))
	for i, r := range rows {
		x[i] = r[j]
	}
	slices.Sort(x)
	return x
}

// wassersteinSeries scores every window of a stream against its reference
// with the normalised Wasserstein distance (drift/stats, Evidently's
// wasserstein_distance_norm; the automatic method for references over
// 1,000 rows), threshold 0.1.
func wassersteinSeries(s *driftsim.Stream) *timeline.Series {
	ref := make([][]float64, len(s.Features))
	for j := range s.Features {
		ref[j] = column(s.Reference.Rows, j)
	}
	out := &timeline.Series{Features: s.Features}
	for _, w := range s.Windows {
		sev := make([]float64, len(s.Features))
		for j := range s.Features {
			sev[j] = stats.WassersteinNorm(ref[j], column(w.Rows, j)) / 0.1
		}
		out.Windows = append(out.Windows, timeline.Window{Start: w.Start, End: w.End, Severity: sev})
	}
	return out
}

const (
	simWindows = 120 // five days of hourly windows
	simRows    = 500
)

// simSeeds is how many seeds the matrix test runs per type: 8, or
// MODELFN_TIMELINE_SEEDS for a longer look.
func simSeeds() uint64 {
	if n, err := strconv.Atoi(os.Getenv("MODELFN_TIMELINE_SEEDS")); err == nil && n > 0 {
		return uint64(n)
	}
	return 8
}

// simFeatures are the columns the matrix test keeps (a third of the
// dataset, from each of its three groups), to keep it quick under -race.
var simFeatures = []string{
	"mean radius", "mean texture", "mean smoothness", "mean concavity",
	"radius error", "smoothness error", "fractal dimension error",
	"worst area", "worst compactness", "worst symmetry",
}

// subset keeps the named columns of a dataset.
func subset(t testing.TB, d *driftsim.Dataset, names []string) *driftsim.Dataset {
	t.Helper()
	out := &driftsim.Dataset{Features: names, Labels: d.Labels}
	cols := make([]int, len(names))
	for i, n := range names {
		if cols[i] = slices.Index(d.Features, n); cols[i] < 0 {
			t.Fatalf("no feature %q", n)
		}
	}
	for _, row := range d.Rows {
		r := make([]float64, len(cols))
		for i, j := range cols {
			r[i] = row[j]
		}
		out.Rows = append(out.Rows, r)
	}
	return out
}

// simDrift varies the drifted features (one to three of the thirty), the
// shift (0.4 to 1 standard deviation, either way), the start and the
// shape with the seed.
func simDrift(typ driftsim.Type, seed uint64, features []string) driftsim.Drift {
	r := rand.New(rand.NewPCG(seed, 99))
	d := driftsim.Drift{Type: typ, Shift: []float64{0.4, 0.7, 1}[seed%3]}
	if seed%2 == 0 {
		d.Shift = -d.Shift
	}
	if typ == driftsim.None {
		return d
	}
	for _, j := range r.Perm(len(features))[:1+seed%3] {
		d.Features = append(d.Features, features[j])
	}
	switch typ {
	case driftsim.Sudden:
		d.Start = 30 + int(7*seed)%40
	case driftsim.Gradual:
		d.Start, d.Length = 30+int(5*seed)%20, 24+12*int(seed%3)
	case driftsim.Temporary:
		d.Start, d.Length = 30+int(7*seed)%40, 6+3*int(seed%3)
	case driftsim.Periodic:
		d.Start, d.Length, d.Period = 24+int(seed)%6, 6+int(seed%3), []int{18, 24}[seed%2]
	}
	return d
}

// On streams with each type of drift, Detect finds exactly one episode, of
// that type, on exactly the drifted features, starting within tolerance:
//
//	sudden     start within 1 window
//	gradual    start from 3 windows early to a quarter of the ramp late
//	temporary  start and end within 1 window
//	periodic   start within 1 window, period within 1 window
//
// and nothing at all on the control streams.
func TestDetectNamesInjectedDrift(t *testing.T) {
	t.Parallel()
	all, err := driftsim.BreastCancer()
	if err != nil {
		t.Fatal(err)
	}
	data := subset(t, all, simFeatures)
	for _, typ := range []driftsim.Type{driftsim.None, driftsim.Sudden, driftsim.Gradual, driftsim.Temporary, driftsim.Periodic} {
		for seed := uint64(1); seed <= simSeeds(); seed++ {
			d := simDrift(typ, seed, data.Features)
			t.Run(fmt.Sprintf("%s/seed%d", typ, seed), func(t *testing.T) {
				t.Parallel()
				st, err := driftsim.Generate(driftsim.Config{Data: data, Seed: seed, Windows: simWindows, Rows: simRows, Drifts: []driftsim.Drift{d}})
				if err != nil {
					t.Fatal(err)
				}
				eps, err := timeline.Detect(wassersteinSeries(st), timeline.Options{})
				if err != nil {
					t.Fatal(err)
				}
				if typ == driftsim.None {
					if len(eps) != 0 {
						t.Fatalf("control stream: %d episodes, first %+v", len(eps), eps[0])
					}
					return
				}
				if len(eps) != 1 {
					t.Fatalf("injected %+v; found %d episodes: %+v", d, len(eps), eps)
				}
				checkEpisode(t, eps[0], st.Truth[0], st)
			})
		}
	}
}

func checkEpisode(t *testing.T, e timeline.Episode, truth driftsim.Truth, st *driftsim.Stream) {
	t.Helper()
	d := truth.Drift
	if e.Type != string(d.Type) {
		t.Errorf("type %s, want %s (injected %+v, found %+v)", e.Type, d.Type, d, e)
	}
	want := slices.Clone(d.Features)
	slices.SortFunc(want, func(a, b string) int { return slices.Index(st.Features, a) - slices.Index(st.Features, b) })
	if !slices.Equal(e.Features, want) {
		t.Errorf("features %v, want %v", e.Features, want)
	}
	early, late := 1, 1
	if d.Type == driftsim.Gradual {
		early, late = 3, d.Length/4
	}
	if e.FromWindow < d.Start-early || e.FromWindow > d.Start+late {
		t.Errorf("starts at window %d (%s), injected at %d (tolerance -%d/+%d)", e.FromWindow, e.Start.Format(time.RFC3339), d.Start, early, late)
	}
	if !e.Start.Equal(st.Windows[e.FromWindow].Start) {
		t.Errorf("start %v is not window %d's start", e.Start, e.FromWindow)
	}
	if e.Ongoing != truth.Ongoing {
		t.Errorf("ongoing %v, want %v", e.Ongoing, truth.Ongoing)
	}
	switch d.Type {
	case driftsim.Temporary:
		if end := d.Start + d.Length; e.ToWindow < end-1 || e.ToWindow > end+1 {
			t.Errorf("reverts at window %d, injected at %d", e.ToWindow, end)
		}
	case driftsim.Periodic:
		if got, want := e.Period, time.Duration(d.Period)*time.Hour; got < want-time.Hour || got > want+time.Hour {
			t.Errorf("period %v, want %v", got, want)
		}
	default:
		if !e.End.Equal(st.Windows[len(st.Windows)-1].End) {
			t.Errorf("ongoing episode ends %v, want the last window's end", e.End)
		}
	}
	t.Logf("%s on %d feature(s), shift %v, length %d: found %s from window %d (injected %d) to %d, period %v, score %.2f",
		d.Type, len(d.Features), d.Shift, d.Length, e.Type, e.FromWindow, d.Start, e.ToWindow, e.Period, e.Score)
	if e.Score < 1 {
		t.Errorf("score %v below the threshold", e.Score)
	}
}

// The false-episode rate on many control streams (all 30 features), too
// slow for every run: MODELFN_TIMELINE_CONTROLS=100 go test -run
// TestControlFalseEpisodes ./drift/timeline/ reports it and fails above
// 5% of streams.
func TestControlFalseEpisodes(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("MODELFN_TIMELINE_CONTROLS"))
	if n <= 0 {
		t.Skip("set MODELFN_TIMELINE_CONTROLS to the number of control streams to run")
	}
	data, err := driftsim.BreastCancer()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	streams, episodes := 0, 0
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for seed := uint64(1000); seed < 1000+uint64(n); seed++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			st, err := driftsim.Generate(driftsim.Config{Data: data, Seed: seed, Windows: simWindows, Rows: simRows})
			if err != nil {
				t.Error(err)
				return
			}
			eps, err := timeline.Detect(wassersteinSeries(st), timeline.Options{})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if len(eps) > 0 {
				streams++
				episodes += len(eps)
				t.Logf("seed %d: %+v", seed, eps)
			}
		}()
	}
	wg.Wait()
	t.Logf("%d of %d control streams (%d features x %d windows of %d rows) had episodes, %d in all",
		streams, n, len(data.Features), simWindows, simRows, episodes)
	if float64(streams) > 0.05*float64(n) {
		t.Fatalf("false episodes in %d of %d control streams", streams, n)
	}
}
