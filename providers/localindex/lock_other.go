//go:build !unix

package localindex

import (
	"fmt"
	"os"
	"path/filepath"
)

// lockDir opens dir/LOCK. Without flock there is no cross-process exclusion on this
// platform: only one process may open an index at a time.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("locking index: %w", err)
	}
	return f, nil
}
