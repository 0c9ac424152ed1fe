package store

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// TestBatchRoundTrip: a submitted batch is found again by run, step and key (what a
// resumed run looks for before submitting), its status moves to collected, and it goes
// with its run.
func TestBatchRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	if err := s.CreateRun(ctx, Run{ID: "r1", Flow: "f.yaml"}); err != nil {
		t.Fatal(err)
	}
	b := Batch{RunID: "r1", StepID: "gen", Key: "k1", Provider: "oa", Model: "gpt-4o-mini",
		Job: json.RawMessage(`{"id":"batch_1","model":"gpt-4o-mini","task":"generate"}`), Items: []int{4, 5, 6}, ItemKeys: []string{"a", "b", "c"}}
	if err := s.PutBatch(ctx, b); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetBatch(ctx, "r1", "gen", "k1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != BatchSubmitted || !reflect.DeepEqual(got.Items, b.Items) || !reflect.DeepEqual(got.ItemKeys, b.ItemKeys) || string(got.Job) != string(b.Job) || got.Provider != "oa" {
		t.Fatalf("GetBatch = %+v", got)
	}
	if _, err := s.GetBatch(ctx, "r1", "gen", "other"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown key: err = %v, want ErrNotFound", err)
	}
	if err := s.SetBatchStatus(ctx, "r1", "gen", "k1", BatchCollected); err != nil {
		t.Fatal(err)
	}
	if all, err := s.Batches(ctx, "r1"); err != nil || len(all) != 1 || all[0].Status != BatchCollected {
		t.Fatalf("Batches = %+v, %v", all, err)
	}
	if err := s.PutBatch(ctx, Batch{RunID: "nope", StepID: "gen", Key: "k", Job: json.RawMessage(`{}`)}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("batch of an unknown run: err = %v, want ErrNotFound", err)
	}
	if err := s.PutBatch(ctx, Batch{RunID: "r1", StepID: "gen", Key: "k", Job: json.RawMessage(`{`)}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("job that is not JSON: err = %v, want ErrInvalid", err)
	}
	if err := s.DeleteRun(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetBatch(ctx, "r1", "gen", "k1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("batch outlived its run: err = %v", err)
	}
}
