package timeline_test

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/modelfn/modelfn/drift/timeline"
	"github.com/modelfn/modelfn/testing/driftsim"
)

func TestExplore3(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("NSEEDS"))
	rows, _ := strconv.Atoi(os.Getenv("ROWS"))
	mw, _ := strconv.Atoi(os.Getenv("MINW"))
	var mu sync.Mutex
	bad := 0
	var wg sync.WaitGroup
	sem := make(chan bool, 2)
	for seed := uint64(1000); seed < 1000+uint64(n); seed++ {
		wg.Add(1)
		sem <- true
		go func() {
			defer func() { <-sem; wg.Done() }()
			st, _ := driftsim.Generate(driftsim.Config{Seed: seed, Rows: rows, Windows: 120})
			eps, _ := timeline.Detect(wassersteinSeries(st), timeline.Options{MinWindows: mw})
			mu.Lock()
			defer mu.Unlock()
			if len(eps) > 0 {
				bad++
				for _, e := range eps {
					fmt.Printf("seed %d: %s [%d,%d) score=%.2f %v\n", seed, e.Type, e.FromWindow, e.ToWindow, e.Score, e.Features)
				}
			}
		}()
	}
	wg.Wait()
	fmt.Println("rows", rows, "streams with false episodes:", bad, "of", n)
}
