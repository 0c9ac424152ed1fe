package blob

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pngHead is the start of a PNG file: enough for the sniffer.
var pngHead = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")

// wavHead is the start of a RIFF WAVE file.
var wavHead = []byte("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00")

func TestDetect(t *testing.T) {
	tests := []struct {
		name string
		head []byte
		file string
		want string
	}{
		{"png by content", pngHead, "x.bin", "image/png"},
		{"content beats a wrong extension", pngHead, "x.jpg", "image/png"},
		{"wav by content", wavHead, "talk", "audio/wav"},
		{"pdf", []byte("%PDF-1.7\n"), "doc", "application/pdf"},
		{"docx is a zip told apart by name", []byte("PK\x03\x04rest"), "report.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{"unknown bytes with a known extension", []byte{0, 1, 2, 3}, "a.mp3", "audio/mpeg"},
		{"unknown bytes, unknown name", []byte{0, 1, 2, 3}, "a.zzz", Generic},
		{"markdown text", []byte("# Title\n"), "README.md", "text/markdown"},
		{"svg", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>`), "a.svg", "image/svg+xml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Detect(tt.head, tt.file); got != tt.want {
				t.Errorf("Detect = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestExt(t *testing.T) {
	for mt, want := range map[string]string{"image/png": ".png", "audio/wave": ".wav", "text/plain; charset=utf-8": ".txt", "x/unknown": ".bin"} {
		if got := Ext(mt); got != want {
			t.Errorf("Ext(%q) = %q, want %q", mt, got, want)
		}
	}
}

func TestValueRoundTripsThroughJSON(t *testing.T) {
	b := Blob{SHA256: strings.Repeat("ab", 32), Size: 1234, MediaType: "image/png"}
	raw, err := json.Marshal(map[string]any{"image": b.Value()})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, pngHead) {
		t.Fatal("bytes inlined")
	}
	var back map[string]any
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	got, ok := FromValue(back["image"])
	if !ok || got != b {
		t.Fatalf("FromValue(%v) = %v, %v; want %v", back["image"], got, ok, b)
	}
}

func TestFromValueRefuses(t *testing.T) {
	good := Blob{SHA256: strings.Repeat("0", 64), Size: 1, MediaType: "image/png"}.Value()
	tests := map[string]func(m map[string]any){
		"path in the hash":  func(m map[string]any) { m["sha256"] = "../../etc/passwd" + strings.Repeat("0", 48) },
		"upper-case hash":   func(m map[string]any) { m["sha256"] = strings.Repeat("A", 64) },
		"fractional size":   func(m map[string]any) { m["size"] = 1.5 },
		"negative size":     func(m map[string]any) { m["size"] = -1.0 },
		"no media type":     func(m map[string]any) { m["media_type"] = "" },
		"another type tag":  func(m map[string]any) { m["type"] = "file" },
		"extra user fields": func(m map[string]any) { m["note"] = "x" },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			m := map[string]any{}
			for k, v := range good {
				m[k] = v
			}
			mutate(m)
			if b, ok := FromValue(m); ok {
				t.Errorf("FromValue accepted %v as %v", m, b)
			}
		})
	}
}

func TestStorePutOpen(t *testing.T) {
	s := NewStore(t.TempDir())
	data := append(append([]byte{}, pngHead...), bytes.Repeat([]byte{0xff, 0}, 5000)...)
	b, err := s.Put(bytes.NewReader(data), "out.png", "")
	if err != nil {
		t.Fatal(err)
	}
	if b.MediaType != "image/png" || b.Size != int64(len(data)) {
		t.Fatalf("got %+v", b)
	}
	again, err := s.PutBytes(data, "", "")
	if err != nil || again != b {
		t.Fatalf("second put = %+v, %v; want the same blob", again, err)
	}
	r, err := s.Open(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes, err %v", len(got), err)
	}
	if entries, _ := os.ReadDir(filepath.Join(s.Dir(), "tmp")); len(entries) != 0 {
		t.Errorf("temporary files left: %v", entries)
	}
}

func TestStoreDetectsCorruption(t *testing.T) {
	s := NewStore(t.TempDir())
	b, err := s.PutBytes([]byte("hello world"), "a.txt", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.Path(b), []byte("hellO world"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := s.Open(b)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := io.ReadAll(r); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("err = %v, want ErrCorrupt", err)
	}
}

func TestStoreMissingAndMeasuring(t *testing.T) {
	m := NewStore("")
	b, err := m.PutBytes(pngHead, "", "")
	if err != nil || b.MediaType != "image/png" {
		t.Fatalf("measuring put = %+v, %v", b, err)
	}
	if _, err := m.Open(b); !errors.Is(err, ErrMissing) {
		t.Errorf("open on a measuring store: %v, want ErrMissing", err)
	}
	if _, err := NewStore(t.TempDir()).Open(b); !errors.Is(err, ErrMissing) {
		t.Errorf("open of a blob never stored: %v, want ErrMissing", err)
	}
}

func TestSweepKeepsReferenced(t *testing.T) {
	s := NewStore(t.TempDir())
	keep, _ := s.PutBytes([]byte("keep me"), "", "")
	drop, _ := s.PutBytes([]byte("drop me"), "", "")
	recent, err := s.PutBytes([]byte("a run still going wrote me"), "", "")
	if err != nil {
		t.Fatal(err)
	}
	cutoff := time.Now().Add(time.Hour)
	old := cutoff.Add(-2 * time.Hour)
	for _, b := range []Blob{keep, drop} {
		if err := os.Chtimes(s.Path(b), old, old); err != nil {
			t.Fatal(err)
		}
	}
	cutoff = cutoff.Add(-time.Hour - time.Minute) // recent was written after it
	if n, _, _ := s.Sweep(func(string) bool { return false }, cutoff, true); n != 2 || !s.Has(drop) {
		t.Fatalf("dry run counted %d and removed %v", n, !s.Has(drop))
	}
	n, size, err := s.Sweep(func(sum string) bool { return sum == keep.SHA256 }, cutoff, false)
	if err != nil || n != 1 || size != drop.Size {
		t.Fatalf("Sweep = %d, %d, %v", n, size, err)
	}
	if !s.Has(keep) || s.Has(drop) || !s.Has(recent) {
		t.Errorf("after sweep: has keep %v, has drop %v", s.Has(keep), s.Has(drop))
	}
}

// zeroReader yields n zero bytes without holding them.
type zeroReader struct{ n int64 }

func (z *zeroReader) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), z.n)
	clear(p[:k])
	z.n -= k
	return int(k), nil
}

// BenchmarkPutStreams stores 64 MiB per op; its B/op shows memory does not grow with
// the content (a copy buffer, not the content).
func BenchmarkPutStreams(b *testing.B) {
	s := NewStore(b.TempDir())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Put(&zeroReader{n: 64 << 20}, "big.wav", "audio/wav"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestHumanSize(t *testing.T) {
	for n, want := range map[int64]string{12: "12 B", 2048: "2.0 KiB", 5 << 20: "5.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := HumanSize(n); got != want {
			t.Errorf("HumanSize(%d) = %q, want %q", n, got, want)
		}
	}
}
