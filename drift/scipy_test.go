package drift

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/modelfn/modelfn/testing/tools"
)

// The fixtures come from drift/testdata/gen_fixtures.py (scipy 1.10.1,
// numpy 1.24, Evidently's conventions transcribed); regenerate with
// /usr/bin/python3 drift/testdata/gen_fixtures.py.

type genSpec struct {
	N     int     `json:"n"`
	Seed  uint64  `json:"seed"`
	Scale float64 `json:"scale"`
	Shift float64 `json:"shift"`
	Ties  float64 `json:"ties"`
}

// sampleSpec is either a literal list or a generator spec.
type sampleSpec struct {
	nums []float64
	strs []string
	gen  *genSpec
}

func (s *sampleSpec) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &s.nums); err == nil {
		return nil
	}
	if err := json.Unmarshal(b, &s.strs); err == nil {
		return nil
	}
	s.gen = &genSpec{Scale: 1}
	return json.Unmarshal(b, s.gen)
}

func splitmix(x uint64) uint64 {
	z := x * 0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// values regenerates a sample exactly as gen_fixtures.py's gen() does.
func (s *sampleSpec) values() []float64 {
	if s.gen == nil {
		return append([]float64(nil), s.nums...)
	}
	g := s.gen
	out := make([]float64, g.N)
	for i := range out {
		key := g.Seed<<40 + uint64(i)*4
		u := func(k uint64) float64 { return float64(splitmix(key+k)>>32) / (1 << 32) }
		v := float64(float64(u(1)+u(2)+u(3)-1.5)*g.Scale) + g.Shift
		if g.Ties > 0 {
			v = math.Floor(float64(v*g.Ties)) / g.Ties
		}
		out[i] = v
	}
	return out
}

type scipyCase struct {
	Name         string          `json:"name"`
	Kind         string          `json:"kind"`
	Ref          sampleSpec      `json:"ref"`
	Cur          sampleSpec      `json:"cur"`
	KS           []float64       `json:"ks"`
	Wasserstein  float64         `json:"wasserstein"`
	WassersteinN float64         `json:"wasserstein_norm"`
	Energy       float64         `json:"energy"`
	Anderson     []float64       `json:"anderson"`
	CVM          []float64       `json:"cvm"`
	PSI          float64         `json:"psi"`
	KL           float64         `json:"kl_div"`
	JS           float64         `json:"jensenshannon"`
	Hellinger    float64         `json:"hellinger"`
	ChiSquare    []float64       `json:"chisquare"`
	Z            []float64       `json:"z"`
	LInf         *float64        `json:"linf"`
	TVD          *float64        `json:"tvd"`
	Auto         string          `json:"auto"`
	Extra        json.RawMessage `json:"-"`
}

type scipyFixtures struct {
	Scipy   string       `json:"scipy"`
	Cases   []scipyCase  `json:"cases"`
	KSTwoSF [][3]float64 `json:"kstwo_sf"`
}

func loadScipy(t *testing.T) scipyFixtures {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "scipy_cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f scipyFixtures
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

const (
	statTol = 1e-9 // statistics: absolute, relative above 1
	pTol    = 1e-6 // p-values: absolute
)

func closeStat(got, want float64) bool {
	if want == math.MaxFloat64 { // the fixtures' +Inf
		return math.IsInf(got, 1)
	}
	return math.Abs(got-want) <= statTol*math.Max(1, math.Abs(want))
}

// TestMatchesScipy runs every method through CompareData on each fixture
// case and checks statistic and p-value against scipy's, and the automatic
// method against Evidently's rule.
func TestMatchesScipy(t *testing.T) {
	t.Parallel()
	f := loadScipy(t)
	for _, c := range f.Cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			type want struct {
				stat, p float64 // p NaN: no p-value
				ok      bool    // false: scipy cannot judge (not_enough_data expected)
			}
			nan := math.NaN()
			pair := func(v []float64) want {
				if v == nil {
					return want{ok: false}
				}
				return want{v[0], v[1], true}
			}
			wants := map[string]want{
				MethodPSI:       {c.PSI, nan, true},
				MethodKL:        {c.KL, nan, true},
				MethodJS:        {c.JS, nan, true},
				MethodHellinger: {c.Hellinger, nan, true},
				MethodChiSquare: pair(c.ChiSquare),
			}
			if c.Z != nil {
				wants[MethodZ] = pair(c.Z)
			}
			col := Column{Name: "v"}
			var refD, curD *Data
			if c.Kind == "numeric" {
				wants[MethodKS] = pair(c.KS)
				wants[MethodWasserstein] = want{c.WassersteinN, nan, true}
				wants[MethodEnergy] = want{c.Energy, nan, true}
				wants[MethodAnderson] = pair(c.Anderson)
				wants[MethodCVM] = pair(c.CVM)
				refD = &Data{Columns: []Column{col}, Nums: [][]float64{c.Ref.values()}}
				curD = &Data{Columns: []Column{col}, Nums: [][]float64{c.Cur.values()}}
			} else {
				col.Kind = Categorical
				wants[MethodLInf] = want{*c.LInf, nan, true}
				wants[MethodTVD] = want{*c.TVD, nan, true}
				refD = &Data{Columns: []Column{col}, Strs: [][]string{c.Ref.strs}}
				curD = &Data{Columns: []Column{col}, Strs: [][]string{c.Cur.strs}}
			}
			auto := CompareData(cloneData(refD), cloneData(curD), Config{})
			if m := auto.Columns[0].Method; m != c.Auto {
				t.Errorf("auto method %s, Evidently's rule says %s", m, c.Auto)
			}
			for method, w := range wants {
				r := CompareData(cloneData(refD), cloneData(curD), Config{Method: method}).Columns[0]
				if !w.ok {
					if r.Status != StatusNotEnoughData || r.Drifted {
						t.Errorf("%s: scipy cannot judge this case, got %+v", method, r)
					}
					continue
				}
				if r.Status != StatusOK || r.Source != SourceExact {
					t.Errorf("%s: status %s (%s) source %s", method, r.Status, r.Reason, r.Source)
					continue
				}
				if !closeStat(float64(r.Statistic), w.stat) {
					t.Errorf("%s: statistic %.17g, scipy %.17g", method, float64(r.Statistic), w.stat)
				}
				if math.IsNaN(w.p) != math.IsNaN(float64(r.PValue)) || (!math.IsNaN(w.p) && math.Abs(float64(r.PValue)-w.p) > pTol) {
					t.Errorf("%s: p-value %.17g, scipy %.17g", method, float64(r.PValue), w.p)
				}
			}
		})
	}
}

func cloneData(d *Data) *Data {
	c := *d
	c.Nums = make([][]float64, len(d.Nums))
	for i, x := range d.Nums {
		c.Nums[i] = append([]float64(nil), x...)
	}
	return &c
}

// TestFixturesReproducible re-runs the generator and checks it writes the
// committed file (a few seconds of Python).
func TestFixturesReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	t.Parallel()
	py := tools.Python(t)
	out := filepath.Join(t.TempDir(), "cases.json")
	cmd := exec.Command(py, filepath.Join("testdata", "gen_fixtures.py"), out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gen_fixtures.py: %v\n%s", err, b)
	}
	a, _ := os.ReadFile(out)
	b, _ := os.ReadFile(filepath.Join("testdata", "scipy_cases.json"))
	var now, committed any
	if err := json.Unmarshal(a, &now); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &committed); err != nil {
		t.Fatal(err)
	}
	// numpy picks its vector kernels by CPU (AVX-512 or not), which moves
	// some p-values by a few ulps of 1 (scipy's are often 1 - cdf, so
	// their rounding error is absolute: a fresh host moved a cvm p-value
	// of 1.4e-8 by 1.1e-16): equal to 1e-12 of 1 or of the number, far
	// tighter than the tests' own tolerances, is the same fixture.
	if where := sameJSON(now, committed, ""); where != "" {
		t.Fatalf("gen_fixtures.py no longer writes the committed scipy_cases.json: %s", where)
	}
}

// sameJSON reports where two decoded JSON documents first differ, numbers
// compared to 1e-12 of the larger of 1 and themselves; "" when they do not.
func sameJSON(a, b any, at string) string {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return at + ": keys differ"
		}
		for k, v := range a {
			if w := sameJSON(v, b[k], at+"/"+k); w != "" {
				return w
			}
		}
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return at + ": lengths differ"
		}
		for i := range a {
			if w := sameJSON(a[i], b[i], fmt.Sprintf("%s[%d]", at, i)); w != "" {
				return w
			}
		}
	case float64:
		b, ok := b.(float64)
		if !ok || math.Abs(a-b) > 1e-12*max(1, math.Abs(a), math.Abs(b)) {
			return fmt.Sprintf("%s: %v, committed %v", at, a, b)
		}
	default:
		if a != b {
			return fmt.Sprintf("%s: %v, committed %v", at, a, b)
		}
	}
	return ""
}
