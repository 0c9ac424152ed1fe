package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// withRun opens a store holding one run, "r1".
func withRun(t testing.TB) *Store {
	t.Helper()
	s := newStore(t)
	if err := s.CreateRun(context.Background(), sampleRun("r1", "f.yaml", t0)); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStepUpsert(t *testing.T) {
	ctx := context.Background()
	s := withRun(t)
	rec := StepRecord{RunID: "r1", StepID: "embed", Item: WholeStep, Status: StepRunning, StartedAt: t0,
		Model: "@cf/baai/bge-base-en-v1.5", Provider: "cf", InputsHash: "ih", CacheKey: "ck"}
	if err := s.PutStep(ctx, rec); err != nil {
		t.Fatal(err)
	}
	rec.Status, rec.FinishedAt, rec.Attempts = StepSucceeded, t0.Add(time.Second), 2
	rec.Output = json.RawMessage(`{"vectors":[[0.1,0.2]]}`)
	rec.Usage = Usage{InputTokens: 7, Requests: 2, Neurons: 0.5}
	rec.Meta = map[string]string{"gateway_cache": "MISS"}
	if err := s.PutStep(ctx, rec); err != nil {
		t.Fatal(err)
	}
	got, err := s.Steps(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]StepRecord{rec}, got); diff != "" {
		t.Fatalf("Steps after upsert (-want +got):\n%s", diff)
	}
	one, err := s.GetStep(ctx, "r1", "embed", WholeStep)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rec, one); diff != "" {
		t.Fatalf("GetStep (-want +got):\n%s", diff)
	}
}

func TestStepsOrder(t *testing.T) {
	ctx := context.Background()
	s := withRun(t)
	recs := []StepRecord{
		{RunID: "r1", StepID: "b", Item: WholeStep, Status: StepPending},
		{RunID: "r1", StepID: "a", Item: WholeStep, Status: StepPending},
		{RunID: "r1", StepID: "z", Item: WholeStep, Status: StepSucceeded, StartedAt: t0.Add(2 * time.Second)},
		{RunID: "r1", StepID: "y", Item: WholeStep, Status: StepSucceeded, StartedAt: t0},
		{RunID: "r1", StepID: "each", Item: 1, Status: StepSucceeded, StartedAt: t0.Add(time.Second)},
		{RunID: "r1", StepID: "each", Item: 0, Status: StepCached, Reason: "cache hit", StartedAt: t0.Add(time.Second)},
		{RunID: "r1", StepID: "each", Item: WholeStep, Status: StepRunning, StartedAt: t0.Add(time.Second)},
	}
	if err := s.PutSteps(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	got, err := s.Steps(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, r := range got {
		keys = append(keys, r.StepID+"["+strconv.Itoa(r.Item)+"]")
	}
	want := []string{"y[-1]", "each[-1]", "each[0]", "each[1]", "z[-1]", "a[-1]", "b[-1]"}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

func TestStepErrors(t *testing.T) {
	ctx := context.Background()
	s := withRun(t)
	ok := StepRecord{RunID: "r1", StepID: "s", Item: WholeStep, Status: StepSucceeded}
	tests := []struct {
		name string
		mod  func(*StepRecord)
		want error
	}{
		{"unknown run", func(r *StepRecord) { r.RunID = "nope" }, ErrNotFound},
		{"empty step id", func(r *StepRecord) { r.StepID = "" }, ErrInvalid},
		{"bad item", func(r *StepRecord) { r.Item = -2 }, ErrInvalid},
		{"bad status", func(r *StepRecord) { r.Status = "done" }, ErrInvalid},
		{"output not json", func(r *StepRecord) { r.Output = json.RawMessage(`{"a":`) }, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ok
			tt.mod(&r)
			if err := s.PutStep(ctx, r); !errors.Is(err, tt.want) {
				t.Errorf("PutStep: err = %v, want %v", err, tt.want)
			}
			if err := s.PutSteps(ctx, ok, r); !errors.Is(err, tt.want) {
				t.Errorf("PutSteps: err = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("failed batch writes nothing", func(t *testing.T) {
		bad := ok
		bad.RunID = "nope"
		if err := s.PutSteps(ctx, ok, bad); err == nil {
			t.Fatal("PutSteps with an unknown run succeeded")
		}
		if got, _ := s.Steps(ctx, "r1"); len(got) != 0 {
			t.Fatalf("batch partly committed: %+v", got)
		}
	})
	t.Run("get missing", func(t *testing.T) {
		if _, err := s.GetStep(ctx, "r1", "nope", WholeStep); !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	})
}

func TestDeleteRunCascades(t *testing.T) {
	ctx := context.Background()
	s := withRun(t)
	if err := s.PutStep(ctx, StepRecord{RunID: "r1", StepID: "s", Item: WholeStep, Status: StepRunning}); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendTurn(ctx, Turn{RunID: "r1", StepID: "s", Item: WholeStep, Role: "user"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRun(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	steps, _ := s.Steps(ctx, "r1")
	turns, _ := s.Turns(ctx, "r1", "s")
	if len(steps) != 0 || len(turns) != 0 {
		t.Fatalf("left behind: %d steps, %d turns", len(steps), len(turns))
	}
}

func TestTurns(t *testing.T) {
	ctx := context.Background()
	s := withRun(t)
	turns := []Turn{
		{RunID: "r1", StepID: "agent", Item: WholeStep, Index: 0, Role: "user", Content: "find x", At: t0},
		{RunID: "r1", StepID: "agent", Item: WholeStep, Index: 1, Role: "assistant", ToolName: "search",
			ToolCallID: "call_1", Arguments: json.RawMessage(`{"q":"x"}`), Usage: Usage{InputTokens: 12, OutputTokens: 4}, At: t0},
		{RunID: "r1", StepID: "agent", Item: WholeStep, Index: 2, Role: "tool", ToolCallID: "call_1", Content: "x is 1", At: t0},
		{RunID: "r1", StepID: "agent", Item: 0, Index: 0, Role: "user", Content: "item 0", At: t0},
		{RunID: "r1", StepID: "other", Item: WholeStep, Index: 0, Role: "user", At: t0},
	}
	// Appended out of order; Turns sorts by item, then index.
	for _, i := range []int{2, 0, 4, 3, 1} {
		if err := s.AppendTurn(ctx, turns[i]); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Turns(ctx, "r1", "agent")
	if err != nil {
		t.Fatal(err)
	}
	want := []Turn{turns[0], turns[1], turns[2], turns[3]}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Turns (-want +got):\n%s", diff)
	}

	errs := []struct {
		name string
		turn Turn
		want error
	}{
		{"duplicate index", turns[1], ErrExists},
		{"unknown run", Turn{RunID: "nope", StepID: "a", Item: WholeStep, Role: "user"}, ErrNotFound},
		{"empty role", Turn{RunID: "r1", StepID: "a", Item: WholeStep}, ErrInvalid},
		{"negative index", Turn{RunID: "r1", StepID: "a", Item: WholeStep, Index: -1, Role: "user"}, ErrInvalid},
		{"arguments not json", Turn{RunID: "r1", StepID: "a", Item: WholeStep, Role: "user", Arguments: json.RawMessage("{")}, ErrInvalid},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.AppendTurn(ctx, tt.turn); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestSlimStepRecords: records with nothing but status, inputs hash, attempts, times and
// a small output (a transform's) are written with fewer columns (issue 18); the row must
// be the one the full statement writes, also when it replaces a full record or is
// replaced by one.
func TestSlimStepRecords(t *testing.T) {
	ctx := context.Background()
	small, err := EncodeValue(map[string]any{"value": 42.0})
	if err != nil {
		t.Fatal(err)
	}
	slim := StepRecord{RunID: "r1", StepID: "s", Item: WholeStep, Status: StepSucceeded, InputsHash: "h1", Attempts: 1,
		Encoded: small, StartedAt: t0, FinishedAt: t0.Add(time.Millisecond)}
	full := StepRecord{RunID: "r1", StepID: "s", Item: WholeStep, Status: StepFailed, Reason: "why", InputsHash: "h2", CacheKey: "k",
		Error: "boom", Model: "m", Provider: "p", Attempts: 3, StartedAt: t0, FinishedAt: t0.Add(time.Second),
		Usage: Usage{InputTokens: 5, OutputTokens: 7, Neurons: 1.5, USD: 0.25, Requests: 2}, Meta: map[string]string{"a": "b"},
		Encoded: mustEncode(t, map[string]any{"text": strings.Repeat("x", 2*inlineOutputMax)})}
	noOutput := slim
	noOutput.Encoded, noOutput.Status = nil, StepSkipped
	tests := []struct {
		name  string
		order []StepRecord
	}{
		{"slim", []StepRecord{slim}},
		{"slim without output", []StepRecord{noOutput}},
		{"slim replaces full", []StepRecord{full, slim}},
		{"full replaces slim", []StepRecord{slim, full}},
		{"slim in one batch after full", []StepRecord{full, noOutput, slim}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := withRun(t)
			if err := s.PutSteps(ctx, tt.order...); err != nil {
				t.Fatal(err)
			}
			got, err := s.GetStep(ctx, "r1", "s", WholeStep)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.order[len(tt.order)-1]
			if want.Encoded != nil {
				js, err := ValueJSON(want.Encoded)
				if err != nil {
					t.Fatal(err)
				}
				want.Output = js
			}
			if d := cmp.Diff(want, got, cmpopts.IgnoreFields(StepRecord{}, "EncodedSum")); d != "" {
				t.Errorf("read back (-want +got):\n%s", d)
			}
		})
	}
}

// TestRecordStoredOutputsAgain: a batch whose outputs are partly stored already (a
// cached re-run's), partly new and partly repeated within the batch records every one
// readably; the stored ones are looked up instead of inserted again (issue 18).
func TestRecordStoredOutputsAgain(t *testing.T) {
	ctx := context.Background()
	s := withRun(t)
	out := func(i int) []byte {
		return mustEncode(t, map[string]any{"text": strings.Repeat(strconv.Itoa(i), inlineOutputMax)})
	}
	var first []StepRecord
	for i := range 5 {
		first = append(first, StepRecord{RunID: "r1", StepID: "a", Item: i, Status: StepSucceeded, Model: "m", Encoded: out(i), StartedAt: t0})
	}
	if err := s.PutSteps(ctx, first...); err != nil {
		t.Fatal(err)
	}
	var again []StepRecord
	for i, o := range []int{0, 1, 7, 7, 2, 8, 1} {
		again = append(again, StepRecord{RunID: "r1", StepID: "b", Item: i, Status: StepCached, Model: "m", Encoded: out(o), StartedAt: t0})
	}
	if err := s.PutSteps(ctx, again...); err != nil {
		t.Fatal(err)
	}
	for _, r := range append(first, again...) {
		got, err := s.GetStep(ctx, "r1", r.StepID, r.Item)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Encoded, r.Encoded) {
			t.Errorf("%s[%d]: read back %q, want %q", r.StepID, r.Item, got.Encoded, r.Encoded)
		}
	}
	var blobs int
	if err := s.p.r.QueryRowContext(ctx, `SELECT count(*) FROM blobs`).Scan(&blobs); err != nil {
		t.Fatal(err)
	}
	if blobs != 7 {
		t.Errorf("%d blobs stored, want 7 (outputs 0-2, 3, 4, 7, 8 once each)", blobs)
	}
}

// TestPutStepsBatches: a batch is written with multi-row statements of a few fixed
// sizes (issue 18); whatever its length and its mix of slim and full records, what is
// read back is what writing the records one by one gives, the last record of a key
// replacing earlier ones in the same batch.
func TestPutStepsBatches(t *testing.T) {
	small, err := EncodeValue(map[string]any{"value": 42.0})
	if err != nil {
		t.Fatal(err)
	}
	big, err := EncodeValue(map[string]any{"text": strings.Repeat("long output ", 20)})
	if err != nil {
		t.Fatal(err)
	}
	record := func(i, version int) StepRecord {
		r := StepRecord{RunID: "r1", StepID: "s" + strconv.Itoa(i), Item: WholeStep, Status: StepSucceeded,
			Encoded: small, InputsHash: strconv.Itoa(version), StartedAt: t0.Add(time.Duration(i) * time.Second),
			FinishedAt: t0.Add(time.Duration(i+1) * time.Second), Attempts: 1}
		switch i % 5 {
		case 1: // full: a model call's record
			r.Model, r.Usage, r.Meta = "m", Usage{InputTokens: i, Requests: 1}, map[string]string{"k": strconv.Itoa(version)}
		case 2: // full: output stored as a blob
			r.Encoded = big
		case 3:
			r.Status, r.Reason, r.Encoded = StepSkipped, "upstream failed: s0", nil
		}
		return r
	}
	tests := []struct {
		name  string
		n     int
		dupes []int // records written again, changed, later in the batch
	}{
		{"one", 1, nil},
		{"eight", 8, nil},
		{"nine", 9, nil},
		{"sixty-four", 64, nil},
		{"a run's flush", 100, nil},
		{"full recorder batch", 512, nil},
		{"same key twice", 73, []int{0, 1, 2, 3, 70}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			batch, one := withRun(t), withRun(t)
			var recs []StepRecord
			for i := range tt.n {
				recs = append(recs, record(i, 0))
			}
			for _, i := range tt.dupes {
				recs = append(recs, record(i, 1))
			}
			if err := batch.PutSteps(ctx, recs...); err != nil {
				t.Fatal(err)
			}
			for _, r := range recs {
				if err := one.PutStep(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			got, err := batch.Steps(ctx, "r1")
			if err != nil {
				t.Fatal(err)
			}
			want, err := one.Steps(ctx, "r1")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.n {
				t.Errorf("%d records read back, want %d", len(got), tt.n)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("batch written (-one by one +batch):\n%s", diff)
			}
		})
	}
	t.Run("unknown run in a chunk", func(t *testing.T) {
		s := withRun(t)
		var recs []StepRecord
		for i := range 20 {
			recs = append(recs, record(i*5, 0)) // slim, so in one chunk
		}
		recs[12].RunID = "nope"
		err := s.PutSteps(context.Background(), recs...)
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
		if got, _ := s.Steps(context.Background(), "r1"); len(got) != 0 {
			t.Fatalf("batch partly committed: %d records", len(got))
		}
	})
}
