package temporal

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestMaterializeConcurrently: the local activities of one worker unpack the same bundle
// at once; every one of them must find the whole bundle. Writers used to share one
// temporary directory per process, and one's cleanup deleted another's files before the
// rename, leaving a bundle directory that held only its completion mark.
func TestMaterializeConcurrently(t *testing.T) {
	b := Bundle{FlowFile: "/flows/demo/flow.yaml", Source: []byte("aiflow: 1\n"), Roots: []string{"/flows/demo"},
		Files: []BundleFile{{Path: "/flows/demo/prompts/a.txt", Data: []byte("hello")}}}
	dir := filepath.Join(t.TempDir(), "bundles", "abc123")
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Go(func() {
			flow, roots, err := materialize(dir, b)
			if err != nil {
				errs <- err
				return
			}
			for _, p := range append([]string{flow, filepath.Join(roots[0], "prompts", "a.txt")}, roots...) {
				if _, err := os.Stat(p); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
