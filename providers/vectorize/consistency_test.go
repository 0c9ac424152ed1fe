package vectorize_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/vectorize"
	"github.com/aiflow/aiflow/providers/wiretest"
)

func TestEventualConsistency(t *testing.T) {
	q := providers.VectorQuery{Vector: []float32{1, 0}, TopK: 10}
	docs := []providers.Vector{vec("a", []float32{1, 0}), vec("b", []float32{0.5, 0.5})}
	tests := []struct {
		name      string
		wait      any
		wantIDs   []string
		wantPolls int
	}{
		{"without wait a query right after upsert misses", nil, []string{}, 0},
		{"wait_for_mutation sees the vectors", "5s", []string{"a", "b"}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf := wiretest.NewCloudflare(t)
			x := open(t, newBackend(t, cf, nil), spec("kb", 2, "cosine", nil, map[string]any{"wait_for_mutation": tt.wait, "batch_size": 1}))
			cf.Vectorize().SetLag(wiretest.VectorizeLag{InfoPolls: 3})
			if _, err := x.Upsert(context.Background(), docs); err != nil {
				t.Fatal(err)
			}
			got, err := x.Query(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantIDs, ids(got)); diff != "" {
				t.Errorf("query right after Upsert (-want +got):\n%s", diff)
			}
			if polls := count(cf, "GET", "/kb/info"); polls != tt.wantPolls {
				t.Errorf("%d /info polls, want %d", polls, tt.wantPolls)
			}
		})
	}
}

func TestDeleteWaits(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	x := open(t, newBackend(t, cf, nil), spec("kb", 2, "cosine", nil, map[string]any{"wait_for_mutation": true}))
	ctx := context.Background()
	if _, err := x.Upsert(ctx, []providers.Vector{vec("a", []float32{1, 0}), vec("b", []float32{0, 1})}); err != nil {
		t.Fatal(err)
	}
	cf.Vectorize().SetLag(wiretest.VectorizeLag{InfoPolls: 2})
	if _, err := x.DeleteByIDs(ctx, []string{"a"}); err != nil {
		t.Fatal(err)
	}
	got, err := x.GetByIDs(ctx, []string{"a", "b"})
	if err != nil || !cmp.Equal(vectorIDs(got), []string{"b"}) {
		t.Errorf("GetByIDs right after a waited delete = %v, %v; want [b]", vectorIDs(got), err)
	}
}

func TestWaitTimeout(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	x := open(t, newBackend(t, cf, nil), spec("kb", 2, "cosine", nil, map[string]any{"wait_for_mutation": "20ms"}))
	cf.Vectorize().SetLag(wiretest.VectorizeLag{InfoPolls: 1 << 30})
	n, err := x.Upsert(context.Background(), []providers.Vector{vec("a", []float32{1, 0})})
	var pe *vectorize.PendingError
	if !errors.As(err, &pe) {
		t.Fatalf("Upsert error = %v, want a *PendingError", err)
	}
	if n != 1 || pe.Index != "kb" || pe.MutationID == "" || pe.Processed != "" || pe.Waited != 20*time.Millisecond {
		t.Errorf("n=%d, %+v", n, pe)
	}
	wantErr(t, err, "accepted but not processed within 20ms", "durable")
	if st, _ := cf.Vectorize().Stats("kb"); st.Pending != 1 {
		t.Errorf("pending mutations %d, want the upsert still queued", st.Pending)
	}
}

func TestWaitCancelled(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	b := newBackend(t, cf, nil, vectorize.WithPollInterval(time.Hour))
	x := open(t, b, spec("kb", 2, "cosine", nil, map[string]any{"wait_for_mutation": "2h"}))
	cf.Vectorize().SetLag(wiretest.VectorizeLag{InfoPolls: 2})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := x.Upsert(ctx, []providers.Vector{vec("a", []float32{1, 0})})
		done <- err
	}()
	for count(cf, "GET", "/kb/info") == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Upsert after cancel = %v, want context.Canceled", err)
	}
}
