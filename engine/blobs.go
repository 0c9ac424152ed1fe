package engine

import (
	"path/filepath"

	"github.com/aiflow/aiflow/blob"
)

// BlobDir is where a state directory keeps blob bytes: blob() reads files into it, media
// steps write their images and audio into it, and `aiflow gc` sweeps what no run
// references.
func BlobDir(stateDir string) string {
	if stateDir == "" {
		return ""
	}
	return filepath.Join(stateDir, "blobs")
}

// Blobs gives steps the run's blob store (steps.BlobEnv).
func (e *runEnv) Blobs() *blob.Store { return blob.NewStore(BlobDir(e.opts.StateDir)) }
