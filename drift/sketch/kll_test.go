package sketch

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// maxRankError is the largest |estimated - true| CDF over every value.
func maxRankError(s *KLL, sorted []float64) float64 {
	n := float64(len(sorted))
	worst := 0.0
	for i := 0; i < len(sorted); {
		j := i + 1
		for j < len(sorted) && sorted[j] == sorted[i] {
			j++
		}
		worst = math.Max(worst, math.Abs(s.CDF(sorted[i])-float64(j)/n))
		i = j
	}
	return worst
}

func data(seed uint64, n int, kind int) []float64 {
	rng := rand.New(rand.NewPCG(seed, 7))
	x := make([]float64, n)
	for i := range x {
		switch kind {
		case 0:
			x[i] = rng.NormFloat64()
		case 1:
			x[i] = rng.ExpFloat64() * 1000
		default:
			x[i] = math.Floor(rng.Float64() * 50) // ties
		}
	}
	return x
}

// TestRankErrorBound checks the stated bound (RankError, 1.33% at k=200,
// 0.28% at k=1000) on a million values (200,000 under the race detector),
// fed directly and as merged sketches of 10,000, for three shapes.
func TestRankErrorBound(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("short")
	}
	bound := RankError(DefaultK)
	if math.Abs(bound-0.0133) > 0.0005 {
		t.Fatalf("RankError(200) = %v", bound)
	}
	n := 1_000_000
	if raceEnabled {
		n = 200_000
	}
	checkRankError(t, DefaultK, n, 3)
	checkRankError(t, 1000, n, 1)
}

func checkRankError(t *testing.T, k, n, kinds int) {
	bound := RankError(k)
	worst := 0.0
	for seed := uint64(1); seed <= 1; seed++ {
		for kind := 0; kind < kinds; kind++ {
			x := data(seed, n, kind)
			direct := NewKLL(k)
			merged := NewKLL(k)
			for lo := 0; lo < len(x); lo += 10000 {
				part := NewKLL(k)
				for _, v := range x[lo:min(lo+10000, len(x))] {
					direct.Add(v)
					part.Add(v)
				}
				if err := merged.Merge(part); err != nil {
					t.Fatal(err)
				}
			}
			s := slices.Clone(x)
			slices.Sort(s)
			for name, sk := range map[string]*KLL{"direct": direct, "merged": merged} {
				e := maxRankError(sk, s)
				worst = math.Max(worst, e)
				if e > bound {
					t.Errorf("k %d seed %d kind %d %s: rank error %.4f above the stated %.4f", k, seed, kind, name, e, bound)
				}
				if sk.N() != int64(len(x)) || sk.Min() != s[0] || sk.Max() != s[len(s)-1] {
					t.Errorf("%s: n/min/max wrong", name)
				}
				if sk.Retained() > 4*k {
					t.Errorf("%s: retains %d items", name, sk.Retained())
				}
			}
		}
	}
	t.Logf("k %d: worst rank error %.4f (stated %.4f)", k, worst, bound)
}

func TestQuantileAndJSON(t *testing.T) {
	t.Parallel()
	s := NewKLL(0)
	x := data(9, 100000, 0)
	for _, v := range x {
		s.Add(v)
	}
	sorted := slices.Clone(x)
	slices.Sort(sorted)
	for _, q := range []float64{0.01, 0.25, 0.5, 0.75, 0.99} {
		v := s.Quantile(q)
		i, _ := slices.BinarySearch(sorted, v)
		if r := float64(i) / float64(len(x)); math.Abs(r-q) > RankError(DefaultK) {
			t.Errorf("quantile %.2f: value %v has rank %.4f", q, v, r)
		}
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var r KLL
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	for _, v := range data(10, 5000, 0) { // the restored sketch goes on identically
		s.Add(v)
		r.Add(v)
	}
	b1, _ := json.Marshal(s)
	b2, _ := json.Marshal(&r)
	if string(b1) != string(b2) {
		t.Fatal("restored sketch diverged")
	}
	if err := json.Unmarshal([]byte(`{"k":200,"n":5,"levels":[[1]],"rng":1}`), &r); err == nil {
		t.Fatal("inconsistent sketch accepted")
	}
}

func TestAddAllocationFree(t *testing.T) {
	s := NewKLL(0)
	for i := 0; i < 100000; i++ {
		s.Add(float64(i))
	}
	allocs := testing.AllocsPerRun(10000, func() { s.Add(1.5) })
	if allocs > 0.05 {
		t.Fatalf("%.3f allocations per Add", allocs)
	}
}
