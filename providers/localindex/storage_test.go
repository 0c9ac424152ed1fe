package localindex

import (
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
)

// cmpVectors compares vectors, allowing float32 rounding in values.
var cmpVectors = cmp.Comparer(func(a, b []float32) bool { return closeTo(a, b) })

func getAll(t testing.TB, x *Index, vs []providers.Vector) []providers.Vector {
	t.Helper()
	ids := make([]string, len(vs))
	for i, v := range vs {
		ids[i] = v.ID
	}
	got, err := x.GetByIDs(ctx, ids)
	if err != nil {
		t.Fatalf("GetByIDs: %v", err)
	}
	return got
}

func TestPersistenceAcrossReopen(t *testing.T) {
	for _, metric := range []string{metricCosine, metricEuclidean, metricDot} {
		t.Run(metric, func(t *testing.T) {
			dir := t.TempDir()
			spec := testSpec(16, metric)
			r := rand.New(rand.NewPCG(1, 2))
			vs := randVectors(r, "v", 300, 16)
			x := mustOpen(t, dir, spec)
			mustUpsert(t, x, vs[:200])
			mustUpsert(t, x, vs[200:])
			if n, err := x.DeleteByIDs(ctx, []string{"v3", "v4", "nope"}); n != 2 || err != nil {
				t.Fatalf("DeleteByIDs = %d, %v; want 2, nil", n, err)
			}
			if err := x.Close(); err != nil {
				t.Fatal(err)
			}
			want := append(append([]providers.Vector{}, vs[:3]...), vs[5:]...)
			y := mustOpen(t, dir, spec)
			if diff := cmp.Diff(want, getAll(t, y, vs), cmpVectors); diff != "" {
				t.Errorf("after reopen (-want +got):\n%s", diff)
			}
			if err := y.Compact(); err != nil {
				t.Fatal(err)
			}
			y.Close()
			z := mustOpen(t, dir, spec)
			if diff := cmp.Diff(want, getAll(t, z, vs), cmpVectors); diff != "" {
				t.Errorf("after compaction and reopen (-want +got):\n%s", diff)
			}
			info, err := z.Info(ctx)
			if err != nil || info.Count != 298 || info.Dimensions != 16 || info.Metric != metric {
				t.Errorf("Info = %+v, %v", info, err)
			}
		})
	}
}

func TestUpsertIdempotentLastWins(t *testing.T) {
	x := mustOpen(t, t.TempDir(), testSpec(8, metricEuclidean))
	r := rand.New(rand.NewPCG(3, 4))
	first := randVectors(r, "id", 50, 8)
	mustUpsert(t, x, first)
	mustUpsert(t, x, first)
	second := randVectors(r, "id", 50, 8)
	for i := range second {
		second[i].Metadata = map[string]any{"round": 2.0}
	}
	mustUpsert(t, x, second)
	info, _ := x.Info(ctx)
	if info.Count != 50 {
		t.Errorf("Count = %d after upserting the same ids three times, want 50", info.Count)
	}
	if diff := cmp.Diff(second, getAll(t, x, second), cmpVectors); diff != "" {
		t.Errorf("last values should win (-want +got):\n%s", diff)
	}
	// Within one batch, the later duplicate wins.
	dup := []providers.Vector{{ID: "d", Values: make([]float32, 8), Text: "one"}, {ID: "d", Values: make([]float32, 8), Text: "two"}}
	mustUpsert(t, x, dup)
	got, _ := x.GetByIDs(ctx, []string{"d", "d"})
	if len(got) != 1 || got[0].Text != "two" {
		t.Errorf("GetByIDs(d, d) = %+v, want one vector with text two", got)
	}
}

func TestDeleteReusesSlots(t *testing.T) {
	dir := t.TempDir()
	spec := testSpec(4, metricDot)
	x := mustOpen(t, dir, spec)
	r := rand.New(rand.NewPCG(5, 6))
	vs := randVectors(r, "a", 100, 4)
	mustUpsert(t, x, vs)
	ids := make([]string, 50)
	for i := range ids {
		ids[i] = vs[i].ID
	}
	if n, err := x.DeleteByIDs(ctx, append(ids, ids...)); n != 50 || err != nil {
		t.Fatalf("DeleteByIDs = %d, %v; want 50, nil", n, err)
	}
	if got := getAll(t, x, vs[:50]); len(got) != 0 {
		t.Errorf("deleted ids still returned: %d", len(got))
	}
	more := randVectors(r, "b", 50, 4)
	mustUpsert(t, x, more)
	if slots := x.c.st.slots(); slots != 100 {
		t.Errorf("slots = %d after deleting 50 and adding 50, want 100 (free slots reused)", slots)
	}
	x.Close()
	y := mustOpen(t, dir, spec)
	want := append(append([]providers.Vector{}, vs[50:]...), more...)
	if diff := cmp.Diff(want, getAll(t, y, want), cmpVectors); diff != "" {
		t.Errorf("after reopen (-want +got):\n%s", diff)
	}
}

func TestRejectsBadInput(t *testing.T) {
	x := mustOpen(t, t.TempDir(), testSpec(3, metricCosine))
	nan := float32(0)
	nan /= nan
	tests := []struct {
		name string
		v    providers.Vector
		want string
	}{
		{"dimension mismatch", providers.Vector{ID: "a", Values: []float32{1, 2}}, `vector "a" has 2 dimensions, expected 3`},
		{"empty id", providers.Vector{Values: []float32{1, 2, 3}}, "empty id"},
		{"long id", providers.Vector{ID: strings.Repeat("x", 600), Values: []float32{1, 2, 3}}, "the limit is 512"},
		{"nan", providers.Vector{ID: "n", Values: []float32{1, nan, 3}}, "value 1 is NaN"},
		{"bad metadata", providers.Vector{ID: "m", Values: []float32{1, 2, 3}, Metadata: map[string]any{"f": func() {}}}, "metadata is not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			good := providers.Vector{ID: "ok", Values: []float32{1, 0, 0}}
			_, err := x.Upsert(ctx, []providers.Vector{good, tt.v})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Upsert error = %v, want it to contain %q", err, tt.want)
			}
			if info, _ := x.Info(ctx); info.Count != 0 {
				t.Errorf("a rejected batch wrote %d vectors", info.Count)
			}
		})
	}
}

func TestSpecMismatch(t *testing.T) {
	dir := t.TempDir()
	x := mustOpen(t, dir, testSpec(8, metricCosine))
	x.Close()
	tests := []struct {
		name string
		spec providers.IndexSpec
		want string
	}{
		{"dimensions", testSpec(16, metricCosine), "exists with 8 dimensions and metric cosine; the spec asks for 16 dimensions"},
		{"metric", testSpec(8, metricEuclidean), "metric euclidean"},
		{"bad metric", testSpec(8, "manhattan"), `unknown metric "manhattan"`},
		{"zero dimensions", testSpec(0, metricCosine), "dimensions must be between 1 and"},
		{"bad ann", providers.IndexSpec{Name: "t", Dimensions: 8, ANN: "ivf"}, `unknown ann "ivf"`},
		{"bad metadata index", providers.IndexSpec{Name: "t", Dimensions: 8, MetadataIndexes: map[string]string{"a": "date"}}, `metadata index "a" has type "date"`},
		{"bad setting", providers.IndexSpec{Name: "t", Dimensions: 8, Settings: map[string]any{"hnsw_m": "big"}}, "setting hnsw_m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(dir, tt.spec)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestMetadataIsCopied(t *testing.T) {
	x := mustOpen(t, t.TempDir(), testSpec(2, metricEuclidean))
	meta := map[string]any{"tags": []any{"a"}, "n": 1}
	mustUpsert(t, x, []providers.Vector{{ID: "a", Values: []float32{1, 2}, Metadata: meta}})
	meta["n"] = 2
	got, _ := x.GetByIDs(ctx, []string{"a"})
	got[0].Metadata["tags"].([]any)[0] = "changed"
	got, _ = x.GetByIDs(ctx, []string{"a"})
	want := map[string]any{"tags": []any{"a"}, "n": 1.0}
	if diff := cmp.Diff(want, got[0].Metadata); diff != "" {
		t.Errorf("stored metadata aliased a caller's map (-want +got):\n%s", diff)
	}
}

func TestTornTailIsTruncated(t *testing.T) {
	dir := t.TempDir()
	spec := testSpec(8, metricEuclidean)
	r := rand.New(rand.NewPCG(7, 8))
	acked := randVectors(r, "a", 20, 8)
	x := mustOpen(t, dir, spec)
	mustUpsert(t, x, acked)
	good := x.c.log.size
	mustUpsert(t, x, randVectors(r, "torn", 5, 8))
	full := x.c.log.size
	x.Close()
	logPath := filepath.Join(dir, walName)
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		mut  func([]byte) []byte
	}{
		{"short header", func(b []byte) []byte { return b[:good+3] }},
		{"short payload", func(b []byte) []byte { return b[:full-1] }},
		{"bad checksum", func(b []byte) []byte { c := append([]byte{}, b...); c[full-2] ^= 0xff; return c }},
		{"garbage length", func(b []byte) []byte {
			c := append([]byte{}, b[:good]...)
			return append(c, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4, 5)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(logPath, tt.mut(data), 0o644); err != nil {
				t.Fatal(err)
			}
			y := mustOpen(t, dir, spec)
			if diff := cmp.Diff(acked, getAll(t, y, acked), cmpVectors); diff != "" {
				t.Errorf("acknowledged vectors (-want +got):\n%s", diff)
			}
			if got, _ := y.GetByIDs(ctx, []string{"torn0"}); len(got) != 0 {
				t.Errorf("torn batch partly applied")
			}
			if y.c.log.size != good {
				t.Errorf("log size after open = %d, want truncated to %d", y.c.log.size, good)
			}
			mustUpsert(t, y, randVectors(r, "after", 3, 8))
			y.Close()
			z := mustOpen(t, dir, spec)
			if got, _ := z.GetByIDs(ctx, []string{"after2", "a19"}); len(got) != 2 {
				t.Errorf("writes after truncation lost: got %d of 2", len(got))
			}
			z.Close()
		})
	}
}

func TestMidLogCorruptionRefusesToOpen(t *testing.T) {
	dir := t.TempDir()
	spec := testSpec(8, metricEuclidean)
	r := rand.New(rand.NewPCG(9, 10))
	x := mustOpen(t, dir, spec)
	mustUpsert(t, x, randVectors(r, "a", 10, 8))
	mid := x.c.log.size
	mustUpsert(t, x, randVectors(r, "b", 10, 8))
	mustUpsert(t, x, randVectors(r, "c", 10, 8))
	x.Close()
	logPath := filepath.Join(dir, walName)
	data, _ := os.ReadFile(logPath)
	data[mid+20] ^= 0x01
	os.WriteFile(logPath, data, 0o644)
	_, err := Open(dir, spec)
	if err == nil || !strings.Contains(err.Error(), "followed by valid records") {
		t.Fatalf("Open error = %v, want a corruption error", err)
	}
}

func TestInterruptedCompaction(t *testing.T) {
	dir := t.TempDir()
	spec := testSpec(8, metricCosine)
	r := rand.New(rand.NewPCG(11, 12))
	vs := randVectors(r, "a", 40, 8)
	x := mustOpen(t, dir, spec)
	mustUpsert(t, x, vs[:20])
	x.Compact()
	mustUpsert(t, x, vs[20:])
	// Write the next snapshot but keep the old log, as a crash between the two renames would.
	x.c.mu.RLock()
	if _, err := writeSnapshot(dir, x.c.gen+1, metricCosine, x.c.st); err != nil {
		t.Fatal(err)
	}
	x.c.mu.RUnlock()
	x.Close()
	y := mustOpen(t, dir, spec)
	if diff := cmp.Diff(vs, getAll(t, y, vs), cmpVectors); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if y.c.gen != 2 || y.c.log.gen != 2 {
		t.Errorf("generations: snapshot %d, log %d; want 2, 2", y.c.gen, y.c.log.gen)
	}
}

func TestSharedOpenAndClose(t *testing.T) {
	dir := t.TempDir()
	spec := testSpec(4, metricCosine)
	a := mustOpen(t, dir, spec)
	b := mustOpen(t, dir, spec)
	mustUpsert(t, a, []providers.Vector{{ID: "x", Values: []float32{1, 2, 3, 4}}})
	a.Close()
	if got, err := b.GetByIDs(ctx, []string{"x"}); err != nil || len(got) != 1 {
		t.Fatalf("second handle after first closed: %v, %v", got, err)
	}
	if _, err := a.GetByIDs(ctx, []string{"x"}); !errors.Is(err, errClosed) {
		t.Errorf("closed handle: err = %v, want errClosed", err)
	}
	if _, err := Open(dir, testSpec(4, metricDot)); err == nil {
		t.Errorf("opening an open index with another metric succeeded")
	}
	b.Close()
	f, err := lockDir(dir)
	if err != nil {
		t.Fatalf("directory still locked after the last close: %v", err)
	}
	f.Close()
}

func TestOpenMissingWithoutCreate(t *testing.T) {
	p, _ := parseSpec(testSpec(4, metricCosine), nil)
	_, err := openIndex(filepath.Join(t.TempDir(), "none"), p, false)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
}

func TestConcurrentOpensShareOneIndex(t *testing.T) {
	dir := t.TempDir()
	spec := testSpec(4, metricCosine)
	xs := make([]*Index, 8)
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for i := range xs {
		wg.Go(func() { xs[i], errs[i] = Open(dir, spec) })
	}
	wg.Wait()
	for i := range xs {
		if errs[i] != nil {
			t.Fatalf("Open %d: %v", i, errs[i])
		}
		if xs[i].c != xs[0].c {
			t.Errorf("Open %d got its own in-memory index", i)
		}
	}
	for _, x := range xs {
		x.Close()
	}
	if openCoreFor(dir) != nil {
		t.Error("index still registered after every handle closed")
	}
}
