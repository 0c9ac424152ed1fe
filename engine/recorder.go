package engine

import (
	"context"
	"strings"
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
	write func(context.Context, store.Progress) error
	after func(time.Duration) <-chan time.Time // time.After; tests stop the clock
	wake  chan struct{}                        // something is pending
	full  chan struct{}                        // recorderBatch records are pending
	stop  chan struct{}                        // closed by close
	done  chan struct{}
	wmu   sync.Mutex // held from take to the end of its write: batches commit in order

	mu      sync.Mutex
	pending []store.StepRecord // queued by value: no allocation per record
	// spare is the buffer of the last batch written, emptied, to queue the next
	// records in: a run's records are copied into two buffers at most, instead of a
	// growing slice per batch (reallocating 300-byte records was a tenth of the
	// memory a small flow allocated).
	spare   []store.StepRecord
	usage   store.Usage
	events  []store.RunEvent // retries and rate waits: rare
	err     error
	fin     *store.RunFinish // the run's end, to go with the last write (closeWith)
	ended   bool             // fin was written
	room    sync.Cond        // signalled when take makes room below recorderMaxPending
	waiting int              // puts waiting for room

	// create is the run to create with the first write (newCreatingRecorder), until a
	// write takes it; created is closed once that write is done, with createErr its
	// error.
	create    *store.Run
	created   chan struct{}
	createErr error

	// keys, for a new run (whose records only this recorder writes), holds a hash of the
	// key of every record written, so that a write can vouch that its keys are new to
	// the run (store.Progress.Fresh); packed counts the records written with Pack. Both
	// are used under wmu.
	keys   map[uint64]struct{}
	packed int
}

const (
	// recorderMaxPacked is how many records of a run may go into packs (store.Progress.Pack):
	// a reader of a run's records reads its packs whole, so beyond it records go in rows,
	// which readers find through the index. (Measured on a 10,000-item step all packed:
	// a page of 100 items read in 32 ms instead of 3.5, the step stats in 64 instead of 17.)
	recorderMaxPacked = 8 * 1024
	recorderBatch     = 512
	recorderLinger    = 5 * time.Millisecond
	// recorderMaxPending bounds the records queued while the store falls behind (a
	// slow disk, a busy database): put then waits, so a long for_each cannot queue its
	// outputs in memory without end.
	recorderMaxPending = 8 * recorderBatch
)

// newRecorder starts a recorder for a run expected to record about steps records
// before its first write (its step count: the buffer then never grows for a small
// flow).
func newRecorder(st *store.Store, runID string, steps int) *recorder {
	return startRecorder(runID, st.RecordProgress, time.After, steps)
}

// newCreatingRecorder is newRecorder for a run not yet in the store: the recorder's
// first write creates it, with whatever else is pending then. That write comes within
// recorderLinger of the start, or at once when awaitCreated asks; a small run's
// creation, records and end are then one commit instead of two.
func newCreatingRecorder(st *store.Store, run store.Run, steps int) *recorder {
	return startCreatingRecorder(run, st.RecordProgress, time.After, steps)
}

// startRecorder is newRecorder with the store's write and the clock given (tests).
func startRecorder(runID string, write func(context.Context, store.Progress) error, after func(time.Duration) <-chan time.Time, steps int) *recorder {
	r := newRecorderState(runID, write, after, steps)
	close(r.created) // the run exists
	go r.loop()
	return r
}

// startCreatingRecorder is newCreatingRecorder with the store's write and the clock given.
func startCreatingRecorder(run store.Run, write func(context.Context, store.Progress) error, after func(time.Duration) <-chan time.Time, steps int) *recorder {
	r := newRecorderState(run.ID, write, after, steps)
	r.create = &run
	r.keys = make(map[uint64]struct{}, min(max(steps, 1), recorderBatch))
	r.wake <- struct{}{} // the creation is pending: write it within the linger
	go r.loop()
	return r
}

// newRecorderState is a recorder not yet started, its buffer sized for steps records.
func newRecorderState(runID string, write func(context.Context, store.Progress) error, after func(time.Duration) <-chan time.Time, steps int) *recorder {
	r := &recorder{runID: runID, write: write, after: after, wake: make(chan struct{}, 1), full: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{}), created: make(chan struct{}),
		pending: recordBuf(min(max(steps, 1), recorderBatch))}
	r.room.L = &r.mu
	return r
}

// awaitCreated returns once the run is in the store, writing its creation (with what is
// pending) at once if no write has yet; the error is the creation's. The engine calls it
// before a step does anything outside the process, so that nothing is paid for or
// changed elsewhere by a run the store could not record.
func (r *recorder) awaitCreated() error {
	select {
	case <-r.created:
		return r.createErr
	default:
	}
	r.wmu.Lock()
	select {
	case <-r.created:
	default: // no write has taken the creation yet, and none can while wmu is held
		p, _ := r.take()
		r.commit(p)
	}
	r.wmu.Unlock()
	<-r.created
	return r.createErr
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default: // one is pending already
	}
}

func (r *recorder) put(rec store.StepRecord) {
	r.mu.Lock()
	for len(r.pending) >= recorderMaxPending {
		r.waiting++
		r.room.Wait()
		r.waiting--
	}
	r.pending = append(r.pending, rec)
	n := len(r.pending)
	r.mu.Unlock()
	if n == 1 {
		signal(r.wake)
	}
	if n >= recorderBatch {
		signal(r.full)
	}
}

// addUsage queues usage paid for by the run, to be added to its recorded totals.
func (r *recorder) addUsage(u store.Usage) {
	if u == (store.Usage{}) {
		return
	}
	r.mu.Lock()
	r.usage = addStoreUsage(r.usage, u)
	r.mu.Unlock()
	signal(r.wake)
}

// onEvent queues the retries and rate-limiter waits among the run's events, so the run
// viewer's timeline can show them; other events are recorded as step records already.
func (r *recorder) onEvent(e Event) {
	var ev store.RunEvent
	switch e.Type {
	case EventRetry:
		ev = store.RunEvent{Kind: store.EventRetry, Attempt: e.Attempt, Class: errorClass(e.Err)}
		if e.Err != nil {
			ev.Error = e.Err.Error()
		}
	case EventRateWait:
		ev = store.RunEvent{Kind: store.EventRateWait}
	default:
		return
	}
	ev.StepID, ev.Item, ev.At, ev.Wait = e.StepID, e.Item, e.Time, e.Elapsed
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	signal(r.wake)
}

// errorClass sorts a retried failure for the timeline by the words the provider
// clients put in their messages (the error reaching the hook is already redacted text).
func errorClass(err error) string {
	if err == nil {
		return ""
	}
	msg := strings.ToLower(err.Error())
	switch {
	case strings.Contains(msg, "http 429") || strings.Contains(msg, "rate limit") || strings.Contains(msg, "rate_limit"):
		return "rate_limit"
	case strings.Contains(msg, "http 5"):
		return "server"
	case strings.Contains(msg, "timeout") || strings.Contains(msg, "deadline exceeded") || strings.Contains(msg, "timed out"):
		return "timeout"
	}
	return "error"
}

func (r *recorder) isFull() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending) >= recorderBatch
}

// take removes up to recorderBatch records and the usage pending, and reports whether
// a full batch is still left.
func (r *recorder) take() (store.Progress, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := store.Progress{RunID: r.runID, Create: r.create, Usage: r.usage, Events: r.events}
	r.usage, r.events, r.create = store.Usage{}, nil, nil
	if k := min(len(r.pending), recorderBatch); k > 0 {
		p.Steps = r.pending[:k:k]
		if r.pending = r.pending[k:]; len(r.pending) == 0 {
			r.pending, r.spare = r.spare, nil
		}
		if r.waiting > 0 {
			r.room.Broadcast()
		}
	}
	return p, len(r.pending) >= recorderBatch
}

// commit writes p, taken with take; the caller holds wmu. Once the run's creation failed
// nothing more is written: the run is not in the store, and a write could only fail or,
// were another run to hold its ID, land in that run. A new run's recorder says which
// writes bring keys new to the run (see keys).
func (r *recorder) commit(p store.Progress) {
	if err := r.createErr; err != nil { // set by an earlier commit, under wmu
		r.written(p, err)
		return
	}
	if r.keys != nil && len(p.Steps) > 0 {
		p.Fresh = true
		for i := range p.Steps {
			k := store.StepKeyHash(p.Steps[i].StepID, p.Steps[i].Item)
			if _, seen := r.keys[k]; seen { // or a hash collision: then rows, as for a repeat
				p.Fresh = false
			}
			r.keys[k] = struct{}{}
		}
		if p.Pack = p.Fresh && r.packed < recorderMaxPacked; p.Pack {
			r.packed += len(p.Steps)
		}
	}
	r.written(p, r.write(context.Background(), p))
}

// notCreated reports whether the run's creation failed, so the run is not in the store.
func (r *recorder) notCreated() bool {
	select {
	case <-r.created:
		return r.createErr != nil
	default:
		return false
	}
}

// written takes back p's buffer, once p has been written, to queue records in, and
// keeps the first write error.
func (r *recorder) written(p store.Progress, err error) {
	clear(p.Steps) // the outputs they hold are garbage now
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil && r.err == nil {
		r.err = err
	}
	r.ended = r.ended || p.Finish != nil && err == nil
	if p.Create != nil {
		r.createErr = err
		close(r.created)
	}
	if r.spare == nil && cap(p.Steps) > 0 {
		// Past p.Steps' capacity (take cuts it) the array may hold records pending.
		r.spare = p.Steps[:0]
	}
}

func (r *recorder) loop() {
	defer close(r.done)
	stopping := false
	for {
		if !stopping {
			select {
			case <-r.wake:
			case <-r.full:
			case <-r.stop:
				stopping = true
			}
		}
		if !stopping && !r.isFull() { // a full batch (its signal maybe taken above) goes at once
			linger := r.after(recorderLinger)
			for waiting := true; waiting; {
				select {
				case <-linger:
					waiting = false
				case <-r.full:
					// A full signal whose batch an earlier pass already took (through
					// isFull) is stale: keep lingering, or the records queued since go
					// out early in a write of their own.
					waiting = !r.isFull()
				case <-r.stop:
					stopping, waiting = true, false
				}
			}
		}
		r.wmu.Lock()
		p, more := r.take()
		if stopping {
			r.mu.Lock()
			if r.fin != nil && !r.ended && r.err == nil && len(r.pending) == 0 { // the last write
				p.Finish = r.fin
			}
			r.mu.Unlock()
		}
		if p.Empty() {
			r.wmu.Unlock()
			if stopping {
				return
			}
			continue
		}
		r.commit(p)
		r.wmu.Unlock()
		if more {
			signal(r.full)
		} else if !stopping {
			r.mu.Lock()
			left := len(r.pending) > 0 || r.usage != (store.Usage{}) || len(r.events) > 0
			r.mu.Unlock()
			if left {
				signal(r.wake)
			}
		}
	}
}

// sync writes everything queued so far before it returns, in the caller's goroutine
// (RunOptions.SyncItems). Batches still commit in the order they were taken.
func (r *recorder) sync() {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	for {
		p, _ := r.take()
		if p.Empty() {
			return
		}
		r.commit(p)
	}
}

// close flushes queued entries and returns the first write error. No put or addUsage
// may follow it.
func (r *recorder) close() error {
	_, err := r.closeWith(nil)
	return err
}

// closeWith is close that also ends the run: fin goes with the last write, in its
// transaction (a commit less per run, a tenth of a small flow's store cost), unless an
// earlier write failed; the caller then records the end itself. ended reports
// whether fin was written.
func (r *recorder) closeWith(fin *store.RunFinish) (ended bool, err error) {
	r.mu.Lock()
	r.fin = fin
	r.mu.Unlock()
	close(r.stop)
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	// Everything is written (each written record cleared): the buffer can serve the next
	// recorder.
	if b := r.spare; b != nil && len(r.pending) == 0 && cap(b) <= recorderBatch {
		recordBufs.Put(&b)
		r.spare, r.pending = nil, nil
	}
	return r.ended, r.err
}

// recordBufs keeps the emptied record buffers of closed recorders for the next ones: a
// small flow's buffer was a sixth of the bytes a run allocated.
var recordBufs sync.Pool // *[]store.StepRecord, of length 0

// recordBuf returns an empty buffer for at least n records.
func recordBuf(n int) []store.StepRecord {
	if b, ok := recordBufs.Get().(*[]store.StepRecord); ok && cap(*b) >= n {
		return (*b)[:0]
	}
	return make([]store.StepRecord, 0, n)
}

func addStoreUsage(a, b store.Usage) store.Usage {
	return store.Usage(providers.Usage(a).Add(providers.Usage(b)))
}
