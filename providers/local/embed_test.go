package local

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/aiflow/aiflow/providers"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// embedGolden pins vectors computed by an earlier process: feature hashing must give the
// same vectors in every process and release, or stored indexes silently go stale.
type embedGolden struct {
	Text   string      `json:"text"`
	Dims   int         `json:"dims"`
	SHA256 string      `json:"sha256"` // of the little-endian float32 bits
	Head   []component `json:"head"`   // first non-zero components, for a readable diff
}

type component struct {
	I int     `json:"i"`
	V float32 `json:"v"`
}

func head(v []float32, n int) []component {
	var out []component
	for i, f := range v {
		if f != 0 && len(out) < n {
			out = append(out, component{i, f})
		}
	}
	return out
}

var goldenTexts = []struct {
	text string
	dims int
}{
	{"The quick brown fox jumps over the lazy dog.", 768},
	{"Cloudflare Workers run JavaScript in V8 isolates.", 768},
	{"Ünïcödé wörds: café, naïve, Straße — 東京", 768},
	{"Cache-Control: max-age=3600, stale-while-revalidate=60", 64},
}

func digest(v []float32) string {
	h := sha256.New()
	for _, f := range v {
		_ = binary.Write(h, binary.LittleEndian, math.Float32bits(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestEmbedGolden(t *testing.T) {
	var got []embedGolden
	for _, g := range goldenTexts {
		v := hashEmbedder{dims: g.dims}.embed(g.text)
		got = append(got, embedGolden{Text: g.text, Dims: g.dims, SHA256: digest(v), Head: head(v, 6)})
	}
	path := filepath.Join("testdata", "embed.golden.json")
	if *update {
		b, _ := json.MarshalIndent(got, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update once to create it)", err)
	}
	var want []embedGolden
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("vectors changed (-golden +now); if intended, run go test -update:\n%s", diff)
	}
}

func TestEmbedShape(t *testing.T) {
	p := newProvider(t, nil)
	tests := []struct {
		name    string
		req     providers.EmbedRequest
		dims    int
		wantErr bool
	}{
		{name: "default model and size", req: providers.EmbedRequest{Texts: []string{"a b c", "d"}}, dims: 768},
		{name: "named model", req: providers.EmbedRequest{Model: ModelHashEmbed, Texts: []string{"x"}}, dims: 768},
		{name: "option dimensions", req: providers.EmbedRequest{Texts: []string{"x"}, Options: map[string]any{"dimensions": 256}}, dims: 256},
		{name: "json number option", req: providers.EmbedRequest{Texts: []string{"x"}, Options: map[string]any{"dimensions": float64(1536)}}, dims: 1536},
		{name: "bad option", req: providers.EmbedRequest{Texts: []string{"x"}, Options: map[string]any{"dimensions": 0}}, wantErr: true},
		{name: "no texts", req: providers.EmbedRequest{}, dims: 768},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := p.Embed(context.Background(), tt.req)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if resp.Dimensions != tt.dims || len(resp.Vectors) != len(tt.req.Texts) {
				t.Fatalf("got %d vectors of %d dims, want %d of %d", len(resp.Vectors), resp.Dimensions, len(tt.req.Texts), tt.dims)
			}
			for i, v := range resp.Vectors {
				if len(v) != tt.dims {
					t.Errorf("vector %d has %d dims", i, len(v))
				}
				if n := norm(v); math.Abs(n-1) > 1e-5 {
					t.Errorf("vector %d has norm %v, want 1", i, n)
				}
			}
		})
	}
}

func TestEmbedUsage(t *testing.T) {
	resp, err := newProvider(t, nil).Embed(context.Background(), providers.EmbedRequest{Texts: []string{"one two three", "four five"}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(providers.Usage{InputTokens: 5, Requests: 1}, resp.Usage); diff != "" {
		t.Errorf("usage (-want +got):\n%s", diff)
	}
}

func TestEmbedEmptyTextIsZero(t *testing.T) {
	for _, text := range []string{"", "  ", "!!! ---"} {
		if n := norm(hashEmbedder{dims: 32}.embed(text)); n != 0 {
			t.Errorf("embed(%q) has norm %v, want the zero vector", text, n)
		}
	}
}

func TestEmbedDeterministic(t *testing.T) {
	e := hashEmbedder{dims: 768}
	text := "Durable Objects give each name a single instance with transactional storage."
	first := e.embed(text)
	for range 5 {
		if diff := cmp.Diff(first, e.embed(text)); diff != "" {
			t.Fatalf("second embedding differs:\n%s", diff)
		}
	}
}

func TestEmbedSimilarity(t *testing.T) {
	tests := []struct{ name, anchor, similar, unrelated string }{
		{"shared words", "how to bake sourdough bread at home", "baking bread with a sourdough starter", "goroutines communicate over channels"},
		{"word pieces", "caching responses", "the cache stores a cached response", "birds migrate south in autumn"},
		{"word order kept by bigrams", "dog bites man", "the dog bites a man", "man bites dog"},
		{"case and punctuation ignored", "HTTP Caching!", "http caching", "tidal power"},
	}
	e := hashEmbedder{dims: 768}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := e.embed(tt.anchor)
			s, u := cosine(a, e.embed(tt.similar)), cosine(a, e.embed(tt.unrelated))
			if s <= u {
				t.Errorf("cos(similar) = %.3f, cos(unrelated) = %.3f; want similar closer", s, u)
			}
		})
	}
}

func TestEmbedCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newProvider(t, nil).Embed(ctx, providers.EmbedRequest{Texts: []string{"x"}})
	if err == nil {
		t.Fatal("want an error from a cancelled context")
	}
}

func norm(v []float32) float64 {
	var s float64
	for _, f := range v {
		s += float64(f) * float64(f)
	}
	return math.Sqrt(s)
}

// BenchmarkEmbed reports texts/s for paragraph-sized texts (the sample-document chunks).
func BenchmarkEmbed(b *testing.B) {
	chunks := loadChunks(b)
	e := hashEmbedder{dims: defaultDimensions}
	b.ResetTimer()
	n := 0
	for i := 0; b.Loop(); i++ {
		e.embed(chunks[i%len(chunks)].text)
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "texts/s")
}
