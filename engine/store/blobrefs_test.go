package store

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	binblob "github.com/aiflow/aiflow/blob"
)

// TestBlobRefsReadsEveryValueForm: gc keeps a blob's bytes while any stored value
// references it, whether that value is JSON text or the binary value form of step
// outputs and cache entries. Reading only JSON let gc delete an image a cached
// generate-image step still pointed at.
func TestBlobRefsReadsEveryValueForm(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	ref := func(c string) map[string]any {
		return map[string]any{"image": binblob.Blob{SHA256: strings.Repeat(c, 64), Size: 3, MediaType: "image/png"}.Value()}
	}
	enc := func(v any) []byte { // as the engine records outputs: JSON-shaped, then encoded
		var shaped any
		if err := json.Unmarshal(mustJSON(t, v), &shaped); err != nil {
			t.Fatal(err)
		}
		b, err := EncodeValue(shaped)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if err := s.CreateRun(ctx, sampleRun("r1", "img.yaml", t0)); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSteps(ctx,
		StepRecord{RunID: "r1", StepID: "binary", Item: -1, Status: StepSucceeded, Encoded: enc(ref("a")), StartedAt: t0, FinishedAt: t0},
		StepRecord{RunID: "r1", StepID: "json", Item: -1, Status: StepSucceeded, Output: mustJSON(t, ref("b")), StartedAt: t0, FinishedAt: t0},
	); err != nil {
		t.Fatal(err)
	}
	if err := s.CachePut(ctx, CacheEntry{Key: "k1", StepID: "binary", Kind: "generate-image", Value: enc(ref("c"))}); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishRun(ctx, "r1", RunSucceeded, ref("d"), "", Usage{}); err != nil {
		t.Fatal(err)
	}
	got, err := s.BlobRefs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"a", "b", "c", "d"} {
		if !got[strings.Repeat(c, 64)] {
			t.Errorf("blob %s… not found among references %v", c, got)
		}
	}
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
