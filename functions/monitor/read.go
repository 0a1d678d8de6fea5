package monitor

import (
	"context"

	"github.com/modelfn/modelfn/functions/predlog"
	"github.com/modelfn/modelfn/runtime"
)

// parallelReads is how many prediction-log objects are fetched and decoded
// at once: a store's latency is paid per object, and decoding uses every
// core. What it holds is that many objects' rows (a batch's log object is
// at most 50,000 records, about 16 MB decoded).
const parallelReads = 4

// readObjects reads the log objects under keys, several at a time, and
// hands each to use in key order, so that what a run adds up does not
// depend on which read finished first. An error from use ends the reads
// and is returned.
func (m *Monitor) readObjects(ctx context.Context, keys []string, use func(key string, b *runtime.Batch, entries []predlog.Entry, err error) error) error {
	ctx, cancel := context.WithCancel(ctx) // stops reads still going when use fails
	defer cancel()
	dec := predlog.NewDecoder(m.Schema, m.Info)
	type read struct {
		b       *runtime.Batch
		entries []predlog.Entry
		err     error
	}
	free := make(chan *read, parallelReads) // each read's memory, reused
	for range parallelReads {
		free <- &read{b: runtime.NewBatch(m.Schema, 1024)}
	}
	done := make([]chan *read, len(keys))
	start := func(i int) {
		done[i] = make(chan *read, 1) // never blocks, so an abandoned read ends
		r := <-free
		go func() {
			r.b.Reset()
			r.entries, r.err = dec.ReadObject(ctx, m.Bucket, keys[i], r.b, r.entries[:0])
			done[i] <- r
		}()
	}
	for i := range min(parallelReads, len(keys)) {
		start(i)
	}
	for i, key := range keys {
		r := <-done[i]
		err := use(key, r.b, r.entries, r.err)
		free <- r
		if err != nil {
			return err
		}
		if next := i + parallelReads; next < len(keys) {
			start(next)
		}
	}
	return nil
}
