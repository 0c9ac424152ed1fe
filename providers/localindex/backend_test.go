package localindex

import (
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
)

func newTestBackend(t *testing.T) (providers.IndexBackend, string) {
	t.Helper()
	info, ok := providers.LookupIndexBackend("local")
	if !ok {
		t.Fatal(`backend "local" is not registered`)
	}
	state := t.TempDir()
	b, err := info.New(providers.IndexBackendConfig{StateDir: state})
	if err != nil {
		t.Fatal(err)
	}
	return b, state
}

func TestBackendLifecycle(t *testing.T) {
	b, state := newTestBackend(t)
	spec := providers.IndexSpec{Name: "docs", Backend: "local", Dimensions: 8, Metric: "cosine", MetadataIndexes: map[string]string{"source": "string"}}
	if _, ok, err := b.Describe(ctx, spec); ok || err != nil {
		t.Fatalf("Describe before creation = ok %v, err %v; want false, nil", ok, err)
	}
	if _, err := b.Open(ctx, spec, false); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open without create = %v, want fs.ErrNotExist", err)
	}
	x, err := b.Open(ctx, spec, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(state, "indexes", "docs", "meta.json")); err != nil {
		t.Errorf("index not under <state>/indexes/<name>: %v", err)
	}
	r := rand.New(rand.NewPCG(71, 72))
	if _, err := x.Upsert(ctx, randVectors(r, "v", 30, 8)); err != nil {
		t.Fatal(err)
	}
	x.DeleteByIDs(ctx, []string{"v0"})
	want := providers.IndexInfo{Dimensions: 8, Metric: "cosine", Count: 29, MetadataIndexes: map[string]string{"source": "string"}}
	got, ok, err := b.Describe(ctx, spec)
	if diff := cmp.Diff(want, got); !ok || err != nil || diff != "" {
		t.Errorf("Describe while open: ok %v, err %v, diff (-want +got):\n%s", ok, err, diff)
	}
	if err := b.Delete(ctx, spec); err == nil || !strings.Contains(err.Error(), "is open") {
		t.Errorf("Delete while open = %v, want an error", err)
	}
	x.Close()
	// Closed: Describe scans the files. A different spec still sees the real state.
	other := spec
	other.Dimensions, other.Metric = 16, "euclidean"
	got, ok, err = b.Describe(ctx, other)
	if diff := cmp.Diff(want, got); !ok || err != nil || diff != "" {
		t.Errorf("Describe while closed: ok %v, err %v, diff (-want +got):\n%s", ok, err, diff)
	}
	if _, err := b.Open(ctx, other, false); err == nil || !strings.Contains(err.Error(), "exists with 8 dimensions") {
		t.Errorf("Open with another spec = %v, want a mismatch error", err)
	}
	if err := b.Delete(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(state, "indexes", "docs")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("index directory left behind: %v", err)
	}
	if _, ok, _ := b.Describe(ctx, spec); ok {
		t.Errorf("Describe after Delete reports the index")
	}
	if err := b.Delete(ctx, spec); err != nil {
		t.Errorf("deleting a missing index: %v", err)
	}
}

func TestDescribeCountsAfterCompactionAndLog(t *testing.T) {
	b, _ := newTestBackend(t)
	spec := providers.IndexSpec{Name: "c", Dimensions: 4, Metric: "dot-product"}
	x, err := b.Open(ctx, spec, true)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(73, 74))
	x.Upsert(ctx, randVectors(r, "a", 50, 4))
	x.(*Index).Compact()
	x.Upsert(ctx, randVectors(r, "a", 60, 4)) // 10 new ids
	x.DeleteByIDs(ctx, []string{"a1", "a2", "a55"})
	x.Close()
	got, ok, err := b.Describe(ctx, spec)
	if !ok || err != nil || got.Count != 57 {
		t.Errorf("Describe = %+v, %v, %v; want count 57", got, ok, err)
	}
}

func TestBackendRejects(t *testing.T) {
	info, _ := providers.LookupIndexBackend("local")
	if _, err := info.New(providers.IndexBackendConfig{}); err == nil {
		t.Error("New without a state directory succeeded")
	}
	b, _ := newTestBackend(t)
	for _, name := range []string{"", "../up", "a/b", ".", strings.Repeat("n", 65)} {
		t.Run(name, func(t *testing.T) {
			if _, err := b.Open(ctx, providers.IndexSpec{Name: name, Dimensions: 4}, true); err == nil {
				t.Errorf("Open(%q) succeeded", name)
			}
		})
	}
}
