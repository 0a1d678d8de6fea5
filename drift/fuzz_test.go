package drift

import (
	"encoding/json"
	"testing"
)

// FuzzProfileJSON: any bytes either fail to unmarshal with an error or give
// a profile that marshals, unmarshals back identically and compares with
// itself without panicking.
func FuzzProfileJSON(f *testing.F) {
	for _, n := range []int{0, 3, 40} {
		b, _ := json.Marshal(profileOf(table(7, n, 0), ProfileOptions{SampleCap: 20, SketchK: 8}))
		f.Add(b)
	}
	f.Add([]byte(`{"version":1,"options":{"sample_cap":1,"sketch_k":1,"max_categories":1},"rows":1,"columns":[{"name":"x","kind":"numeric","numeric":{"seen":1,"mean":0,"m2":0,"exact":true,"values":[1],"rng":1}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Profile
		if err := json.Unmarshal(b, &p); err != nil {
			return
		}
		out, err := json.Marshal(&p)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		var q Profile
		if err := json.Unmarshal(out, &q); err != nil {
			t.Fatalf("re-unmarshal: %v", err)
		}
		if again, _ := json.Marshal(&q); string(again) != string(out) {
			t.Fatal("round trip changed the profile")
		}
		Compare(&p, &q, Config{})
	})
}
