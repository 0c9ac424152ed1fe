package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/aiflow/aiflow/engine/store"
)

// TestRecorderBatchesStepsThatTrickleIn: steps of a chain finish one at a time, each a
// few microseconds after the last. Writing each as it came cost a transaction per step,
// most of the engine's cost on small flows; the recorder now gathers what arrives within
// recorderLinger into one transaction.
func TestRecorderBatchesStepsThatTrickleIn(t *testing.T) {
	var mu sync.Mutex
	var writes []int
	fire := make(chan time.Time)
	r := startRecorder("r1", func(_ context.Context, p store.Progress) error {
		mu.Lock()
		defer mu.Unlock()
		writes = append(writes, len(p.Steps))
		return nil
	}, func(time.Duration) <-chan time.Time { return fire }, 0)
	const n = 100
	for i := range n {
		r.put(store.StepRecord{StepID: "s", Item: i})
		for range 10 { // the next step finishes later: the writer may run meanwhile
			runtime.Gosched()
		}
	}
	fire <- time.Now()
	if err := r.close(); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, w := range writes {
		total += w
	}
	if total != n || len(writes) != 1 {
		t.Errorf("%d records in %d transactions %v; want all %d in one", total, len(writes), writes, n)
	}
}

// TestRecorderWritesAFullBatchAtOnce: a batch of recorderBatch entries is written
// without waiting out the linger, and close flushes the rest.
func TestRecorderWritesAFullBatchAtOnce(t *testing.T) {
	var mu sync.Mutex
	var writes []int
	r := startRecorder("r1", func(_ context.Context, p store.Progress) error {
		mu.Lock()
		defer mu.Unlock()
		writes = append(writes, len(p.Steps))
		return nil
	}, func(time.Duration) <-chan time.Time { return nil }, 0) // the linger never ends
	for i := range recorderBatch + 3 {
		r.put(store.StepRecord{StepID: "s", Item: i})
	}
	for r.pendingCount() > 3 { // the full batch goes without waiting out the linger
		runtime.Gosched()
	}
	if err := r.close(); err != nil {
		t.Fatal(err)
	}
	if len(writes) != 2 || writes[0] != recorderBatch || writes[1] != 3 {
		t.Errorf("transactions of %v records; want %d then 3", writes, recorderBatch)
	}
}

// pendingCount is how many records wait for the writer.
func (r *recorder) pendingCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending)
}

// TestRecorderBoundsPending: while the store cannot keep up (here: its write blocks),
// put waits once recorderMaxPending records are queued instead of queueing without end;
// the queue drains into the store once writing resumes, and nothing is lost.
func TestRecorderBoundsPending(t *testing.T) {
	entered, release := make(chan struct{}, 1), make(chan struct{})
	var mu sync.Mutex
	written := 0
	r := startRecorder("r1", func(_ context.Context, p store.Progress) error {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
		mu.Lock()
		written += len(p.Steps)
		mu.Unlock()
		return nil
	}, func(time.Duration) <-chan time.Time { return nil }, 0)
	const n = recorderMaxPending + 2*recorderBatch
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			r.put(store.StepRecord{StepID: "s", Item: i})
		}
	}()
	<-entered // the writer holds its first batch and is stuck in the store
	for {
		r.mu.Lock()
		queued, waiting := len(r.pending), r.waiting
		r.mu.Unlock()
		if queued > recorderMaxPending {
			t.Fatalf("%d records queued while the store is stuck; want at most %d", queued, recorderMaxPending)
		}
		if waiting > 0 {
			break // put waits for room
		}
		runtime.Gosched()
	}
	close(release)
	<-done
	if err := r.close(); err != nil {
		t.Fatal(err)
	}
	if written != n {
		t.Errorf("%d of %d records written", written, n)
	}
}

// TestRecorderReusesBuffersIntact: the recorder queues records in the buffer of a batch
// already written (issue 18: no growing slice per batch). A batch cut from a longer
// queue shares its array with the records left; those must be intact when they are
// written in turn, whatever is queued meanwhile in the reused buffer.
func TestRecorderReusesBuffersIntact(t *testing.T) {
	r := &recorder{runID: "r1", wake: make(chan struct{}, 1), full: make(chan struct{}, 1)}
	r.room.L = &r.mu
	next := 0
	put := func(n int) {
		for range n {
			r.put(store.StepRecord{StepID: fmt.Sprint("s", next), Item: next})
			next++
		}
	}
	check := func(p store.Progress, from, n int) {
		t.Helper()
		if len(p.Steps) != n {
			t.Fatalf("batch of %d records, want %d", len(p.Steps), n)
		}
		for i, rec := range p.Steps {
			if rec.Item != from+i || rec.StepID != fmt.Sprint("s", from+i) {
				t.Fatalf("record %d of the batch from %d is %s[%d]", i, from, rec.StepID, rec.Item)
			}
		}
	}
	put(recorderBatch + 88)
	p1, _ := r.take()
	check(p1, 0, recorderBatch)
	r.written(p1, nil) // its buffer is now the spare
	p2, _ := r.take()  // the 88 left, still in the first array
	r.written(store.Progress{}, nil)
	put(recorderBatch + 88) // queued in the spare while p2 is being written
	check(p2, recorderBatch, 88)
	r.written(p2, nil)
	p3, _ := r.take()
	check(p3, recorderBatch+88, recorderBatch)
	p4, _ := r.take()
	check(p4, 2*recorderBatch+88, 88)
}

// TestRecorderEndsTheRunWithTheLastWrite: closeWith hands the run's end to the last
// write, in its transaction (issue 18: a commit less per run), once; not when an
// earlier write failed (the walker then records the end itself, as failed).
func TestRecorderEndsTheRunWithTheLastWrite(t *testing.T) {
	fin := &store.RunFinish{Status: store.RunSucceeded}
	tests := []struct {
		name      string
		records   int
		failFirst bool
		wantEnded bool
		wantSteps []int // records of each write
		wantEnd   []bool
	}{
		{"with the last records", 3, false, true, []int{3}, []bool{true}},
		{"after two batches", recorderBatch + 5, false, true, []int{recorderBatch, 5}, []bool{false, true}},
		{"alone", 0, false, true, []int{0}, []bool{true}},
		{"not after a failed write", recorderBatch + 5, true, false, []int{recorderBatch, 5}, []bool{false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var steps []int
			var ends []bool
			r := startRecorder("r1", func(_ context.Context, p store.Progress) error {
				steps, ends = append(steps, len(p.Steps)), append(ends, p.Finish == fin)
				if tt.failFirst && len(steps) == 1 {
					return errors.New("disk full")
				}
				return nil
			}, func(time.Duration) <-chan time.Time { return nil }, 0) // only a full batch or close writes
			for i := range tt.records {
				r.put(store.StepRecord{StepID: "s", Item: i})
			}
			ended, err := r.closeWith(fin)
			if ended != tt.wantEnded || (err != nil) != tt.failFirst {
				t.Errorf("closeWith = %v, %v; want ended %v", ended, err, tt.wantEnded)
			}
			if fmt.Sprint(steps) != fmt.Sprint(tt.wantSteps) || fmt.Sprint(ends) != fmt.Sprint(tt.wantEnd) {
				t.Errorf("writes of %v records, ending the run %v; want %v, %v", steps, ends, tt.wantSteps, tt.wantEnd)
			}
		})
	}
}

// writeLog records each write a recorder makes.
type writeLog struct {
	mu     sync.Mutex
	writes []store.Progress
	fail   error // returned for a write that creates the run
}

func (l *writeLog) write(_ context.Context, p store.Progress) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	p.Steps = append([]store.StepRecord(nil), p.Steps...) // the recorder reuses the buffer
	l.writes = append(l.writes, p)
	if p.Create != nil {
		return l.fail
	}
	return nil
}

func (l *writeLog) get() []store.Progress {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]store.Progress(nil), l.writes...)
}

// TestRecorderCreatesTheRunWithItsFirstWrite: a small run's creation, records and end go
// in one write, one commit instead of two.
func TestRecorderCreatesTheRunWithItsFirstWrite(t *testing.T) {
	var log writeLog
	r := startCreatingRecorder(store.Run{ID: "r1"}, log.write, func(time.Duration) <-chan time.Time { return nil }, 0)
	for i := range 10 {
		r.put(store.StepRecord{StepID: "s", Item: i})
	}
	ended, err := r.closeWith(&store.RunFinish{Status: store.RunSucceeded})
	if err != nil || !ended {
		t.Fatalf("closeWith = %v, %v; want ended", ended, err)
	}
	w := log.get()
	if len(w) != 1 || w[0].Create == nil || w[0].Create.ID != "r1" || len(w[0].Steps) != 10 || w[0].Finish == nil || !w[0].Fresh || !w[0].Pack {
		t.Errorf("writes %+v; want one that creates r1, records 10 steps as new and packable, and finishes", w)
	}
}

// TestRecorderVouchesForNewKeysOnly: a new run's recorder says a write's keys are new to
// the run (so the store may pack them and need not look for packs) only while no key
// comes twice, and packs at most recorderMaxPacked records.
func TestRecorderVouchesForNewKeysOnly(t *testing.T) {
	var log writeLog
	r := startCreatingRecorder(store.Run{ID: "r1"}, log.write, func(time.Duration) <-chan time.Time { return nil }, 0)
	put := func(step string, from, to int) {
		for i := from; i < to; i++ {
			r.put(store.StepRecord{StepID: step, Item: i})
		}
		r.sync()
	}
	put("a", 0, 3)                 // new
	put("a", 3, 5)                 // new
	put("a", 4, 6)                 // item 4 again
	put("b", 0, recorderMaxPacked) // new, reaching the packing cap
	put("c", 0, 1)                 // new, past the cap
	if err := r.close(); err != nil {
		t.Fatal(err)
	}
	var got []string // the first three writes, then records per run of writes with the same flags
	n := 0
	ws := log.get()
	for i, w := range ws {
		n += len(w.Steps)
		if i == len(ws)-1 || ws[i+1].Fresh != w.Fresh || ws[i+1].Pack != w.Pack || i < 3 {
			got = append(got, fmt.Sprintf("%d fresh=%v pack=%v", n, w.Fresh, w.Pack))
			n = 0
		}
	}
	want := []string{"3 fresh=true pack=true", "2 fresh=true pack=true", "2 fresh=false pack=false",
		fmt.Sprintf("%d fresh=true pack=true", recorderMaxPacked), "1 fresh=true pack=false"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("writes:\n%v\nwant\n%v", got, want)
	}
	// A recorder of a run that exists (a resume) vouches for nothing.
	var log2 writeLog
	r2 := startRecorder("r1", log2.write, func(time.Duration) <-chan time.Time { return nil }, 0)
	r2.put(store.StepRecord{StepID: "a", Item: -1})
	r2.sync()
	if err := r2.close(); err != nil {
		t.Fatal(err)
	}
	if w := log2.get(); len(w) != 1 || w[0].Fresh || w[0].Pack {
		t.Errorf("a resume's write %+v; want neither fresh nor packable", w)
	}
}

// TestRecorderCreatesTheRunWithinTheLinger: a run whose first step takes long still
// appears in the store once the linger is over, before any record.
func TestRecorderCreatesTheRunWithinTheLinger(t *testing.T) {
	var log writeLog
	fire := make(chan time.Time, 1)
	r := startCreatingRecorder(store.Run{ID: "r1"}, log.write, func(time.Duration) <-chan time.Time { return fire }, 0)
	fire <- time.Now()
	for len(log.get()) == 0 {
		runtime.Gosched()
	}
	if err := r.awaitCreated(); err != nil {
		t.Fatal(err)
	}
	if err := r.close(); err != nil {
		t.Fatal(err)
	}
	w := log.get()
	if len(w) != 1 || w[0].Create == nil || len(w[0].Steps) != 0 {
		t.Errorf("writes %+v; want the creation alone", w)
	}
}

// TestAwaitCreatedWritesAtOnce: a step about to call a provider does not wait out the
// linger; the creation goes at once, with the records pending.
func TestAwaitCreatedWritesAtOnce(t *testing.T) {
	var log writeLog
	r := startCreatingRecorder(store.Run{ID: "r1"}, log.write, func(time.Duration) <-chan time.Time { return nil }, 0) // the linger never ends
	r.put(store.StepRecord{StepID: "local", Item: -1})
	if err := r.awaitCreated(); err != nil {
		t.Fatal(err)
	}
	if w := log.get(); len(w) != 1 || w[0].Create == nil || len(w[0].Steps) != 1 {
		t.Errorf("writes %+v; want one with the creation and the pending record", w)
	}
	if err := r.awaitCreated(); err != nil { // once created, no write
		t.Fatal(err)
	}
	if err := r.close(); err != nil {
		t.Fatal(err)
	}
	if w := log.get(); len(w) != 1 {
		t.Errorf("%d writes; want 1", len(w))
	}
}

// TestRecorderWritesNothingAfterTheCreationFailed: when the store refuses the run (its ID
// taken, say), the recorder writes nothing more, so no record lands in another run.
func TestRecorderWritesNothingAfterTheCreationFailed(t *testing.T) {
	refused := errors.New("creating run: already exists")
	log := writeLog{fail: refused}
	r := startCreatingRecorder(store.Run{ID: "r1"}, log.write, func(time.Duration) <-chan time.Time { return nil }, 0)
	if err := r.awaitCreated(); !errors.Is(err, refused) {
		t.Fatalf("awaitCreated = %v; want the store's refusal", err)
	}
	r.put(store.StepRecord{StepID: "s", Item: -1})
	r.addUsage(store.Usage{Requests: 1})
	ended, err := r.closeWith(&store.RunFinish{Status: store.RunFailed})
	if ended || !errors.Is(err, refused) || !r.notCreated() {
		t.Errorf("closeWith = %v, %v, notCreated %v; want not ended, the refusal, not created", ended, err, r.notCreated())
	}
	if w := log.get(); len(w) != 1 {
		t.Errorf("%d writes after the creation failed; want only the creation's", len(w)-1)
	}
}
