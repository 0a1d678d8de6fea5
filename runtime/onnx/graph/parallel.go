package graph

import (
	"runtime"
	"sync"
)

// parallelMin is the work (multiply-adds or node visits) below which a
// kernel stays on the calling goroutine: spreading tiny batches costs more
// in scheduling than it saves.
const parallelMin = 1 << 18

// worthSplitting reports whether parallelRows would use more than one
// goroutine; callers test it first so the common small case builds no
// closure (and allocates nothing).
func worthSplitting(rows, work int) bool {
	return rows > 1 && work >= parallelMin && runtime.GOMAXPROCS(0) > 1
}

// parallelRows runs fn over [0, rows) split into one contiguous block per
// available CPU when the work is large enough, else in one call.
func parallelRows(rows, work int, fn func(lo, hi int)) {
	p := runtime.GOMAXPROCS(0)
	if p > rows {
		p = rows
	}
	if p <= 1 || work < parallelMin {
		fn(0, rows)
		return
	}
	var wg sync.WaitGroup
	chunk := (rows + p - 1) / p
	for lo := chunk; lo < rows; lo += chunk {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(lo, min(lo+chunk, rows))
	}
	fn(0, min(chunk, rows))
	wg.Wait()
}
