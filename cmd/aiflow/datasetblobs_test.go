package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDatasetBlobsSurviveGC: the images a dataset run's rows output are named only by its
// results file (rows keep no run record); `aiflow gc` must keep their bytes. It removed
// them once they were an hour old.
func TestDatasetBlobsSurviveGC(t *testing.T) {
	dir := t.TempDir()
	flow := filepath.Join(dir, "pics.yaml")
	src := "aiflow: 1\nname: pics\nvars:\n  name: { type: string }\nsteps:\n  pick:\n    uses: transform\n    with:\n      expr: ${ blob(vars.name) }\noutputs:\n  img: ${ steps.pick.output }\n"
	files := map[string]string{flow: src, filepath.Join(dir, "rows.jsonl"): "{\"name\":\"a.png\"}\n{\"name\":\"b.png\"}\n",
		filepath.Join(dir, "a.png"): "\x89PNG\r\n\x1a\nfirst picture", filepath.Join(dir, "b.png"): "\x89PNG\r\n\x1a\nsecond picture"}
	for p, text := range files {
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	state := filepath.Join(dir, "state")
	var out, errs bytes.Buffer
	if code := run([]string{"run", flow, "--inputs", filepath.Join(dir, "rows.jsonl"), "--results", filepath.Join(dir, "out.jsonl"), "--state-dir", state}, &out, &errs); code != exitOK {
		t.Fatalf("run --inputs: exit %d\n%s", code, errs.String())
	}
	blobs := func() (n int) {
		filepath.WalkDir(filepath.Join(state, "blobs"), func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && filepath.Base(filepath.Dir(p)) != "tmp" {
				n++
			}
			return nil
		})
		return n
	}
	if n := blobs(); n != 2 {
		t.Fatalf("%d blobs after the dataset run, want its 2 pictures", n)
	}
	old := time.Now().Add(-2 * blobGrace)
	filepath.WalkDir(filepath.Join(state, "blobs"), func(p string, d fs.DirEntry, err error) error {
		if err == nil {
			os.Chtimes(p, old, old)
		}
		return nil
	})
	out.Reset()
	errs.Reset()
	if code := run([]string{"gc", flow, "--state-dir", state}, &out, &errs); code != exitOK {
		t.Fatalf("gc: exit %d\n%s", code, errs.String())
	}
	if n := blobs(); n != 2 {
		t.Errorf("%d of the dataset's 2 pictures left after gc: the results file names bytes that are gone", n)
	}

	// A results file no longer wanted releases its pictures: --dry-run says so, then gc
	// removes them. A file that is not JSON is refused, naming it.
	results := filepath.Join(dir, "out.jsonl")
	gc := func(args ...string) string {
		t.Helper()
		out.Reset()
		errs.Reset()
		if code := run(append([]string{"gc", flow, "--state-dir", state}, args...), &out, &errs); code != exitOK {
			t.Fatalf("gc %v: exit %d\n%s", args, code, errs.String())
		}
		return out.String()
	}
	if o := gc("--release", results, "--dry-run"); !strings.Contains(strings.Join(strings.Fields(o), " "), "blobs no run uses 2 ") || blobs() != 2 {
		t.Errorf("gc --release --dry-run printed\n%s\nand left %d pictures; want 2 to be removed, none gone", o, blobs())
	}
	if o := gc("--release", results); !strings.Contains(o, "Released 2 of the 2 blobs named by "+results) || blobs() != 0 {
		t.Errorf("gc --release printed\n%s\nand left %d pictures; want both released and removed", o, blobs())
	}
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte("{\"a\": 1}\nnot json\n"), 0o644)
	errs.Reset()
	if code := run([]string{"gc", flow, "--state-dir", state, "--release", bad}, &out, &errs); code != exitError || !strings.Contains(errs.String(), bad+": value 2") {
		t.Errorf("gc --release of a file that is not JSON: exit %d, %s", code, errs.String())
	}
}
