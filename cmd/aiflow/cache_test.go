package main

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/engine/store"
)

// seedCache writes entries of two steps: fresh, expired and old ones.
func seedCache(t *testing.T, dir string) {
	t.Helper()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	past, future := now.Add(-time.Hour), now.Add(time.Hour)
	for _, e := range []store.CacheEntry{
		{Key: "aaaa0000000000001", StepID: "embed", Kind: "embed", Model: "local", Value: make([]byte, 3000), CreatedAt: now.Add(-10 * 24 * time.Hour)},
		{Key: "bbbb0000000000002", StepID: "embed", Kind: "embed", Model: "local", Value: []byte("x"), CreatedAt: now, ExpiresAt: &past},
		{Key: "cccc0000000000003", StepID: "answer", Kind: "generate", Model: "cf:@cf/meta/llama-3.1-8b-instruct", Value: []byte("{}"), CreatedAt: now, ExpiresAt: &future},
	} {
		if err := st.CachePut(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCacheCommands(t *testing.T) {
	tests := []struct {
		name string
		args []string
		keys []string // entries listed (ls) or left (clear) afterwards
	}{
		{"ls everything", []string{"ls"}, []string{"aaaa0000000000001", "bbbb0000000000002", "cccc0000000000003"}},
		{"ls one step", []string{"ls", "--step", "answer"}, []string{"cccc0000000000003"}},
		{"ls expired", []string{"ls", "--expired"}, []string{"bbbb0000000000002"}},
		{"ls older than a week", []string{"ls", "--older-than", "7d"}, []string{"aaaa0000000000001"}},
		{"ls filters combine", []string{"ls", "--step", "embed", "--older-than", "1h"}, []string{"aaaa0000000000001"}},
		{"clear expired", []string{"clear", "--expired"}, []string{"aaaa0000000000001", "cccc0000000000003"}},
		{"clear a step", []string{"clear", "--step", "embed"}, []string{"cccc0000000000003"}},
		{"clear everything", []string{"clear"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			seedCache(t, dir)
			var out, errs bytes.Buffer
			if code := run(append([]string{"cache"}, append(tt.args, "--state-dir", dir, "-o", "json")...), &out, &errs); code != exitOK {
				t.Fatalf("exit %d: %s%s", code, out.String(), errs.String())
			}
			if tt.args[0] == "clear" {
				out.Reset()
				if code := run([]string{"cache", "ls", "--state-dir", dir, "-o", "json"}, &out, &errs); code != exitOK {
					t.Fatalf("ls after clear: exit %d: %s", code, errs.String())
				}
			}
			if diff := cmp.Diff(tt.keys, listedKeys(t, out.Bytes())); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
		})
	}
}

func listedKeys(t *testing.T, b []byte) []string {
	t.Helper()
	var doc struct {
		Entries []struct {
			Key string `json:"key"`
		} `json:"entries"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	var keys []string
	for _, e := range doc.Entries {
		keys = append(keys, e.Key)
	}
	slices.Sort(keys)
	return keys
}

func TestCacheHumanOutput(t *testing.T) {
	dir := t.TempDir()
	seedCache(t, dir)
	tests := []struct {
		name string
		args []string
		want []string // substrings of stdout
	}{
		{"stats", []string{"stats"}, []string{"Entries:          3\n", "Size:             2.9 KiB\n", "Expired:          1\n", "  embed   2\n", "  answer  1\n"}},
		{"ls", []string{"ls", "--step", "answer"}, []string{"cccc00000000  answer  generate  cf:@cf/meta/llama-3.1-8b-instruct  2 B", "\n1 entry.\n"}},
		{"clear", []string{"clear", "--expired"}, []string{"Removed 1 cache entry from " + dir}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errs bytes.Buffer
			if code := run(append([]string{"cache"}, append(tt.args, "--state-dir", dir)...), &out, &errs); code != exitOK {
				t.Fatalf("exit %d: %s", code, errs.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

func TestByteSize(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1536, "1.5 KiB"}, {5 << 20, "5.0 MiB"}, {3 << 30, "3072.0 MiB"}}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := byteSize(tt.n); got != tt.want {
				t.Errorf("byteSize(%d) = %q, want %q", tt.n, got, tt.want)
			}
		})
	}
}
