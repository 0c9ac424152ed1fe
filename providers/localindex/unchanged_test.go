package localindex

import (
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/aiflow/aiflow/providers"
)

func logSize(t *testing.T, dir string) int64 {
	t.Helper()
	fi, err := os.Stat(filepath.Join(dir, walName))
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// cloneVectors deep-copies vs, so a test can change one field of one vector.
func cloneVectors(vs []providers.Vector) []providers.Vector {
	out := make([]providers.Vector, len(vs))
	for i, v := range vs {
		v.Values = append([]float32(nil), v.Values...)
		v.Metadata = maps.Clone(v.Metadata)
		out[i] = v
	}
	return out
}

// TestUnchangedUpsertWritesNothing is issue 11 finding 22: re-upserting vectors whose id
// already holds the same values, text, namespace and metadata must not grow the log, and
// a batch with some changes logs only those.
func TestUnchangedUpsertWritesNothing(t *testing.T) {
	empty := t.TempDir()
	mustOpen(t, empty, testSpec(16, metricCosine))
	header := logSize(t, empty)
	for _, m := range []string{metricCosine, metricEuclidean, metricDot} {
		t.Run(m, func(t *testing.T) {
			base := randVectors(rand.New(rand.NewPCG(1, 2)), "v", 40, 16)
			tests := []struct {
				name    string
				change  func(vs []providers.Vector) []providers.Vector
				grows   bool
				wantGet func(vs []providers.Vector) providers.Vector // what GetByIDs("v3") returns afterwards
			}{
				{name: "identical batch", change: func(vs []providers.Vector) []providers.Vector { return vs }},
				{name: "metadata map rebuilt with the same content", change: func(vs []providers.Vector) []providers.Vector {
					vs[3].Metadata = map[string]any{"tag": vs[3].Metadata["tag"], "even": vs[3].Metadata["even"], "i": vs[3].Metadata["i"]}
					return vs
				}},
				{name: "one value changed", grows: true, change: func(vs []providers.Vector) []providers.Vector {
					vs[3].Values[0] += 1
					return vs
				}},
				{name: "text changed", grows: true, change: func(vs []providers.Vector) []providers.Vector {
					vs[3].Text += " (revised)"
					return vs
				}},
				{name: "namespace changed", grows: true, change: func(vs []providers.Vector) []providers.Vector {
					vs[3].Namespace = "moved"
					return vs
				}},
				{name: "metadata changed", grows: true, change: func(vs []providers.Vector) []providers.Vector {
					vs[3].Metadata["tag"] = "other"
					return vs
				}},
				{name: "same id twice, the first differing", grows: true, change: func(vs []providers.Vector) []providers.Vector {
					first := cloneVectors(vs[3:4])[0]
					first.Text = "interim"
					return append([]providers.Vector{first}, vs...)
				}},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					dir := t.TempDir()
					x := mustOpen(t, dir, testSpec(16, m))
					mustUpsert(t, x, base)
					before := logSize(t, dir)
					again := tt.change(cloneVectors(base))
					mustUpsert(t, x, again)
					after := logSize(t, dir)
					switch {
					case !tt.grows && after != before:
						t.Errorf("log grew from %d to %d bytes re-upserting unchanged vectors", before, after)
					case tt.grows && after == before:
						t.Errorf("log did not grow; the changed vector was not written")
					case tt.grows && after-before > (before-header)/10:
						t.Errorf("log grew by %d bytes for one changed vector of %d (%d bytes for all)", after-before, len(base), before-header)
					}
					got, err := x.GetByIDs(ctx, []string{"v3"})
					if err != nil || len(got) != 1 {
						t.Fatalf("GetByIDs = %v, %v", got, err)
					}
					want := again[len(again)-len(base)+3]
					if got[0].Text != want.Text || got[0].Namespace != want.Namespace || !closeTo(got[0].Values, want.Values) ||
						!maps.Equal(got[0].Metadata, want.Metadata) {
						t.Errorf("v3 reads back %+v, want %+v", got[0], want)
					}
				})
			}
		})
	}
}
