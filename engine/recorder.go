package engine

import (
	"context"
	"sync"

	"github.com/aiflow/aiflow/engine/store"
)

// recorder writes step records to the run store in group commits: a writer goroutine
// takes every record queued since its last transaction and writes them in one. A crash
// loses at most the records of the last few milliseconds, whose steps a resume runs again;
// close flushes everything before the run is marked finished.
type recorder struct {
	st   *store.Store
	ch   chan store.StepRecord
	done chan struct{}

	mu  sync.Mutex
	err error
}

const recorderBatch = 512

func newRecorder(st *store.Store) *recorder {
	r := &recorder{st: st, ch: make(chan store.StepRecord, 4096), done: make(chan struct{})}
	go r.loop()
	return r
}

func (r *recorder) put(rec store.StepRecord) { r.ch <- rec }

func (r *recorder) loop() {
	defer close(r.done)
	batch := make([]store.StepRecord, 0, recorderBatch)
	for rec := range r.ch {
		batch = append(batch[:0], rec)
	drain:
		for len(batch) < recorderBatch {
			select {
			case more, ok := <-r.ch:
				if !ok {
					break drain
				}
				batch = append(batch, more)
			default:
				break drain
			}
		}
		if err := r.st.PutSteps(context.Background(), batch...); err != nil {
			r.mu.Lock()
			if r.err == nil {
				r.err = err
			}
			r.mu.Unlock()
		}
	}
}

// close flushes queued records and returns the first write error.
func (r *recorder) close() error {
	close(r.ch)
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}
