package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/aiflow/aiflow/blob"
	"github.com/aiflow/aiflow/engine"
)

// showBlobs replaces every blob value inside v with how people read it: media type,
// size and where its bytes are, e.g. "image/png, 1.2 MiB, .aiflow/blobs/sha256/ab/ab12…".
// The bytes themselves never reach a terminal.
func showBlobs(v any, stateDir string) any {
	if b, ok := blob.FromValue(v); ok {
		where := blob.NewStore(engine.BlobDir(stateDir)).Path(b)
		if where == "" {
			where = "sha256:" + b.SHA256
		} else {
			where = displayDir(where)
		}
		return fmt.Sprintf("%s, %s", b, where)
	}
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = showBlobs(e, stateDir)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = showBlobs(e, stateDir)
		}
		return out
	}
	return v
}

// writeBlobOutputs writes every blob among the outputs into dir as a file named after
// the output with its media type's extension: image.png for an output image, frames-0.png,
// frames-1.png for a list, result-image.png for a field of an object. It returns the
// paths written. Each file is copied from the blob store with its hash checked, through a
// temporary file, so a partial file never carries the final name.
func writeBlobOutputs(dir string, outs map[string]any, names []string, stateDir string) ([]string, error) {
	st := blob.NewStore(engine.BlobDir(stateDir))
	var written []string
	var walk func(name string, v any) error
	walk = func(name string, v any) error {
		if b, ok := blob.FromValue(v); ok {
			p := filepath.Join(dir, name+b.Ext())
			if err := copyBlob(st, b, p); err != nil {
				return fmt.Errorf("--output-dir: output %s: %w", name, err)
			}
			written = append(written, p)
			return nil
		}
		switch x := v.(type) {
		case map[string]any:
			for _, k := range sortedKeys(x) {
				if err := walk(name+"-"+k, x[k]); err != nil {
					return err
				}
			}
		case []any:
			for i, e := range x {
				if err := walk(name+"-"+strconv.Itoa(i), e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, n := range names {
		if err := walk(n, outs[n]); err != nil {
			return written, err
		}
	}
	return written, nil
}

func copyBlob(st *blob.Store, b blob.Blob, dst string) error {
	r, err := st.Open(b)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".aiflow-out-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, r); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}
