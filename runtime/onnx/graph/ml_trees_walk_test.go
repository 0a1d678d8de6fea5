package graph

import (
	"math"
	"math/rand"
	"testing"
)

// TestWalk4: four trees walked at once without branches reach the leaves
// one walk at a time reaches, on unbalanced trees of every height, with
// NaN and values on the thresholds.
func TestWalk4(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	const feats = 5
	for _, trees := range []int{1, 4, 7, 13} {
		var r rawTree
		for tree := range trees {
			next := int64(0)
			var grow func(depth int) int64
			grow = func(depth int) int64 {
				id := next
				next++
				i := len(r.treeIDs)
				r.treeIDs = append(r.treeIDs, int64(tree))
				r.nodeIDs = append(r.nodeIDs, id)
				r.featIDs = append(r.featIDs, 0)
				r.modes = append(r.modes, modeLeaf)
				r.trueIDs = append(r.trueIDs, 0)
				r.falseIDs = append(r.falseIDs, 0)
				r.values = append(r.values, 0)
				if depth == 0 || rng.Intn(4) == 0 {
					r.tTree, r.tNode, r.tID = append(r.tTree, int64(tree)), append(r.tNode, id), append(r.tID, 0)
					r.tW = append(r.tW, rng.NormFloat64())
					return id
				}
				r.modes[i], r.featIDs[i], r.values[i] = modeLEQ, int64(rng.Intn(feats)), float64(rng.Intn(5))
				yes := grow(depth - 1)
				no := grow(depth - 1 - rng.Intn(depth))
				r.trueIDs[i], r.falseIDs[i] = yes, no
				return id
			}
			grow(1 + rng.Intn(9))
		}
		e := &ensemble{targets: 1}
		if err := e.load(&r); err != nil {
			t.Fatal(err)
		}
		if !e.sameLEQ {
			t.Fatal("not all <=")
		}
		for range 200 {
			x := make([]float64, feats)
			for i := range x {
				x[i] = float64(rng.Intn(6)) - 0.5*float64(rng.Intn(2))
				if rng.Intn(10) == 0 {
					x[i] = math.NaN()
				}
			}
			got := e.leaves(x, nil)
			for tr, root := range e.roots {
				if want := e.leaf(root, x); got[tr] != want {
					t.Fatalf("%d trees, x %v: tree %d reached node %d, want %d", trees, x, tr, got[tr].w0, want.w0)
				}
			}
		}
	}
}
