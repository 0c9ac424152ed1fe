package engine

import (
	"context"
	"sync"

	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers"
)

// recorder writes a run's progress to the run store in group commits: a writer goroutine
// takes every step record and every paid usage queued since its last transaction and
// writes them in one, adding the usage to the run's totals. A crash loses at most the
// entries of the last few milliseconds (steps a resume runs again, usage of the calls
// then in flight); close flushes everything before the run is marked finished.
type recorder struct {
	st    *store.Store
	runID string
	ch    chan recEntry
	done  chan struct{}

	mu  sync.Mutex
	err error
}

// recEntry is a step record or usage to add to the run's totals.
type recEntry struct {
	step  *store.StepRecord
	usage store.Usage
}

const recorderBatch = 512

func newRecorder(st *store.Store, runID string) *recorder {
	r := &recorder{st: st, runID: runID, ch: make(chan recEntry, 4096), done: make(chan struct{})}
	go r.loop()
	return r
}

func (r *recorder) put(rec store.StepRecord) { r.ch <- recEntry{step: &rec} }

// addUsage queues usage paid for by the run, to be added to its recorded totals.
func (r *recorder) addUsage(u store.Usage) {
	if u != (store.Usage{}) {
		r.ch <- recEntry{usage: u}
	}
}

func (r *recorder) loop() {
	defer close(r.done)
	batch := make([]store.StepRecord, 0, recorderBatch)
	for e := range r.ch {
		p := store.Progress{RunID: r.runID}
		batch = batch[:0]
		add := func(e recEntry) {
			if e.step != nil {
				batch = append(batch, *e.step)
			}
			p.Usage = addStoreUsage(p.Usage, e.usage)
		}
		add(e)
	drain:
		for len(batch) < recorderBatch {
			select {
			case more, ok := <-r.ch:
				if !ok {
					break drain
				}
				add(more)
			default:
				break drain
			}
		}
		p.Steps = batch
		if err := r.st.RecordProgress(context.Background(), p); err != nil {
			r.mu.Lock()
			if r.err == nil {
				r.err = err
			}
			r.mu.Unlock()
		}
	}
}

// close flushes queued entries and returns the first write error.
func (r *recorder) close() error {
	close(r.ch)
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func addStoreUsage(a, b store.Usage) store.Usage {
	return store.Usage(providers.Usage(a).Add(providers.Usage(b)))
}
