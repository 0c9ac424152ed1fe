// Command catalogen regenerates providers/catalog/workersai.json from a directory of
// Cloudflare's published Workers AI model files:
//
//	go run ./internal/catalogen/cmd -src DIR -commit HASH -taken YYYY-MM-DD \
//	    -out providers/catalog/workersai.json
//
// DIR holds cloudflare-docs' src/content/workers-ai-models/*.json; an optional
// DIR/COMMITS.tsv (file<TAB>commit) records per-file commits when the files were not
// taken from one snapshot.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aiflow/aiflow/internal/catalogen"
)

func main() {
	src := flag.String("src", "", "directory of cloudflare-docs workers-ai-models/*.json files")
	out := flag.String("out", "providers/catalog/workersai.json", "file to write")
	repo := flag.String("repo", "cloudflare/cloudflare-docs", "source repository")
	path := flag.String("path", "src/content/workers-ai-models", "path of the files in the repository")
	commit := flag.String("commit", "", "commit the files were taken at (\"per-model\" with COMMITS.tsv)")
	taken := flag.String("taken", "", "date the files were taken, YYYY-MM-DD")
	note := flag.String("note", "", "how the files were taken")
	flag.Parse()
	if err := run(*src, *out, catalogen.Source{Repository: *repo, Path: *path, Commit: *commit, Taken: *taken, Note: *note}); err != nil {
		fmt.Fprintln(os.Stderr, "catalogen:", err)
		os.Exit(1)
	}
}

func run(src, out string, s catalogen.Source) error {
	if src == "" || s.Commit == "" || s.Taken == "" {
		return fmt.Errorf("-src, -commit and -taken are required")
	}
	commits, err := catalogen.ReadCommits(filepath.Join(src, "COMMITS.tsv"))
	if err != nil {
		return err
	}
	models, skipped, err := catalogen.ReadDir(src, commits)
	if err != nil {
		return err
	}
	for _, s := range skipped {
		fmt.Fprintln(os.Stderr, "catalogen:", s)
	}
	b, err := catalogen.Encode(catalogen.File{Source: s, Models: models})
	if err != nil {
		return err
	}
	return os.WriteFile(out, b, 0o644)
}
