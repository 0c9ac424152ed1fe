package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type varsCase struct {
	name     string
	pairs    []string
	varsFile string
	want     string // substring of the error, "" for success
}

// TestParseVarsFileLimits: --var name=@file and --vars-file read at most 32 MiB, the
// limit of file(), and refuse named pipes and devices instead of blocking on them.
func TestParseVarsFileLimits(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.txt")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(60 << 20); err != nil { // sparse: no 60 MB written
		t.Fatal(err)
	}
	f.Close()
	small := filepath.Join(dir, "small.txt")
	if err := os.WriteFile(small, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []varsCase{
		{"small file", []string{"v=@" + small}, "", ""},
		{"60 MB file", []string{"v=@" + big}, "", "--var v: read " + big + ": the file has 62914560 bytes; the limit is 33554432 (32 MiB)"},
		{"60 MB vars file", nil, big, "--vars-file: read " + big + ": the file has 62914560 bytes"},
		{"directory", []string{"v=@" + dir}, "", "not a regular file (a directory)"},
	}
	if fifo := filepath.Join(dir, "fifo"); makeFIFO(fifo) {
		tests = append(tests, varsCase{"named pipe", []string{"v=@" + fifo}, "", "not a regular file (a named pipe)"},
			varsCase{"named pipe vars file", nil, fifo, "not a regular file (a named pipe)"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseVars(tt.pairs, tt.varsFile)
			if tt.want == "" {
				if err != nil || got["v"] != "hello" {
					t.Fatalf("parseVars = %v, %v", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("parseVars error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
