package engine

import (
	"context"
	"sync"
	"time"

	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers"
)

// recorder writes a run's progress to the run store in group commits: a writer goroutine
// gathers the step records and paid usage that arrive within recorderLinger of the first
// one (or until recorderBatch records) and writes them in one transaction, adding the
// usage to the run's totals. A crash loses at most the entries of the last few
// milliseconds (steps a resume runs again, usage of the calls then in flight); close
// flushes everything before the run is marked finished. Nothing waits on a write but
// close, so the linger costs a run no time; writing each step as it finished cost a
// transaction per step of a chain, most of the engine's cost on small flows.
type recorder struct {
	runID string
	ch    chan recEntry
	done  chan struct{}
	write func(context.Context, store.Progress) error
	after func(time.Duration) <-chan time.Time // time.After; tests stop the clock

	mu  sync.Mutex
	err error
}

// recEntry is a step record or usage to add to the run's totals.
type recEntry struct {
	step  *store.StepRecord
	usage store.Usage
}

const (
	recorderBatch  = 512
	recorderLinger = 5 * time.Millisecond
)

func newRecorder(st *store.Store, runID string) *recorder {
	return startRecorder(runID, st.RecordProgress, time.After)
}

func startRecorder(runID string, write func(context.Context, store.Progress) error, after func(time.Duration) <-chan time.Time) *recorder {
	r := &recorder{runID: runID, ch: make(chan recEntry, 4096), done: make(chan struct{}), write: write, after: after}
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
	open := true
	for open {
		e, ok := <-r.ch
		if !ok {
			return
		}
		p := store.Progress{RunID: r.runID}
		batch = batch[:0]
		add := func(e recEntry) {
			if e.step != nil {
				batch = append(batch, *e.step)
			}
			p.Usage = addStoreUsage(p.Usage, e.usage)
		}
		add(e)
		linger := r.after(recorderLinger)
	gather:
		for len(batch) < recorderBatch {
			select {
			case more, ok := <-r.ch:
				if !ok {
					open = false
					break gather
				}
				add(more)
			case <-linger:
				break gather
			}
		}
		p.Steps = batch
		if err := r.write(context.Background(), p); err != nil {
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
