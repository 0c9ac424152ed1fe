package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/aiflow/aiflow/blob"
	"github.com/aiflow/aiflow/engine"
)

// TestWriteBlobOutputs: --output-dir writes each blob output as a file named after the
// output with its media type's extension, with the stored bytes, and refuses bytes that
// no longer match their hash instead of writing them.
func TestWriteBlobOutputs(t *testing.T) {
	state := t.TempDir()
	st := blob.NewStore(engine.BlobDir(state))
	png, err := st.PutBytes([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe"), "", "")
	if err != nil {
		t.Fatal(err)
	}
	outs := map[string]any{"image": png.Value(), "text": "hello", "all": []any{png.Value()}}
	dir := filepath.Join(t.TempDir(), "out")
	files, err := writeBlobOutputs(dir, outs, []string{"image", "text", "all"}, state)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "image.png"), filepath.Join(dir, "all-0.png")}
	if len(files) != 2 || files[0] != want[0] || files[1] != want[1] {
		t.Fatalf("wrote %v, want %v", files, want)
	}
	got, err := os.ReadFile(want[0])
	if err != nil || string(got) != "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe" {
		t.Fatalf("image.png = %q, %v", got, err)
	}
	if err := os.WriteFile(st.Path(png), []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xff"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := writeBlobOutputs(t.TempDir(), outs, []string{"image"}, state); !errors.Is(err, blob.ErrCorrupt) {
		t.Fatalf("corrupt blob: err = %v, want ErrCorrupt", err)
	}
}
