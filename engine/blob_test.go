package engine_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/blob"
	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/spec"
)

// pngBytes is a small PNG-looking file: the PNG signature, then bytes that are not UTF-8.
var pngBytes = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{0xff, 0xfe, 0x00}, 300)...)

// blobFlowDir writes a flow reading photo.png into a temp dir and returns the dir.
func blobFlowDir(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "photo.png"), pngBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "empty.png"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "flow.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func compileFile(t *testing.T, path string) *engine.Flow {
	t.Helper()
	f, diags := spec.ParseFile(path)
	if diags.HasErrors() {
		t.Fatalf("parse: %v", diags)
	}
	fl, diags := engine.Compile(f, engine.Options{})
	if diags.HasErrors() {
		t.Fatalf("compile: %v", diags)
	}
	return fl
}

const blobFlow = `aiflow: 1
name: blobs
steps:
  pic:
    uses: transform
    cache: { ttl: 1h }
    with:
      expr: ${ blob("photo.png") }
outputs:
  image: ${ steps.pic.output.value }
  kind: ${ steps.pic.output.value.media_type }
`

// TestBlobValueByReference: blob() streams a binary file into the state directory's blob
// store and yields {type, sha256, size, media_type}; the run store keeps that reference
// and not the bytes, and a second run is a cache hit with the same value.
func TestBlobValueByReference(t *testing.T) {
	dir := blobFlowDir(t, blobFlow)
	fl := compileFile(t, filepath.Join(dir, "flow.yaml"))
	state := filepath.Join(dir, ".aiflow")
	st, err := store.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	run := func() *engine.RunResult {
		res, err := fl.Run(context.Background(), engine.RunOptions{Store: st, StateDir: state})
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		return res
	}
	first := run()
	b, ok := blob.FromValue(first.Outputs["image"])
	if !ok {
		t.Fatalf("output image = %#v, want a blob value", first.Outputs["image"])
	}
	if b.MediaType != "image/png" || b.Size != int64(len(pngBytes)) || first.Outputs["kind"] != "image/png" {
		t.Fatalf("blob = %+v, kind %v", b, first.Outputs["kind"])
	}
	r, err := blob.NewStore(engine.BlobDir(state)).Open(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(got, pngBytes) {
		t.Fatalf("stored bytes differ (%d bytes, %v)", len(got), err)
	}
	db, err := os.ReadFile(filepath.Join(state, store.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(db, pngBytes[16:64]) {
		t.Error("the run store holds the blob's bytes")
	}
	refs, err := st.BlobRefs(context.Background())
	if err != nil || !refs[b.SHA256] {
		t.Errorf("BlobRefs = %v, %v; want it to hold %s (gc would delete the bytes)", refs, err, b.SHA256)
	}
	second := run()
	if second.Steps[0].Status != engine.StatusCached {
		t.Errorf("second run: pic is %s, want cached", second.Steps[0].Status)
	}
	if b2, _ := blob.FromValue(second.Outputs["image"]); b2 != b {
		t.Errorf("cached blob = %+v, want %+v", b2, b)
	}
}

// TestFileAndBlobErrors: file() of binary content says to use blob(), naming the sniffed
// media type, instead of handing invalid UTF-8 on; blob() refuses an empty file.
func TestFileAndBlobErrors(t *testing.T) {
	tests := []struct{ expr, want string }{
		{`file("photo.png")`, `file("photo.png"): not UTF-8 text (image/png); use blob("photo.png")`},
		{`blob("empty.png")`, `blob("empty.png"): the file is empty (0 bytes)`},
		{`blob("missing.wav")`, `blob("missing.wav"): no such file or directory`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			src := strings.Replace(blobFlow, `blob("photo.png")`, tt.expr, 1)
			dir := blobFlowDir(t, src)
			fl := compileFile(t, filepath.Join(dir, "flow.yaml"))
			st, err := store.Open(filepath.Join(dir, ".aiflow"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			_, err = fl.Run(context.Background(), engine.RunOptions{Store: st, StateDir: filepath.Join(dir, ".aiflow")})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
