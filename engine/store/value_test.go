package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestValueRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		json string
	}{
		{"null", `null`},
		{"bools", `[true,false]`},
		{"number", `0.1`},
		{"string", `"héllo \u003c"`},
		{"empty list", `[]`},
		{"empty map", `{}`},
		{"floats", `[0.12345679104,-2,3e-40,1e300]`},
		{"mixed list", `[1,"a",null,[2.5]]`},
		{"embed output", `{"count":1,"dimensions":3,"vector":[0.1,0.2,0.3],"vectors":[[0.1,0.2,0.3]]}`},
		{"nested", `{"a":{"b":[{"c":[]}]},"":""}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v any
			if err := json.Unmarshal([]byte(tt.json), &v); err != nil {
				t.Fatal(err)
			}
			b, err := EncodeValue(v)
			if err != nil {
				t.Fatal(err)
			}
			if !IsEncodedValue(b) {
				t.Fatal("encoded value not recognised")
			}
			got, err := DecodeValue(b)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(v, got); d != "" {
				t.Errorf("decoded (-want +got):\n%s", d)
			}
			again, _ := EncodeValue(got)
			if !bytes.Equal(b, again) {
				t.Error("encoding is not canonical: decode and encode again differ")
			}
			js, err := ValueJSON(b)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := json.Marshal(v)
			if string(js) != string(want) {
				t.Errorf("ValueJSON = %s, want %s", js, want)
			}
			fromJSON, err := DecodeValue([]byte(tt.json))
			if err != nil || !cmp.Equal(v, fromJSON) {
				t.Errorf("DecodeValue of JSON text = %v, %v", fromJSON, err)
			}
		})
	}
}

func TestEncodeValueRejects(t *testing.T) {
	for _, v := range []any{1, math.NaN(), []any{math.Inf(1)}, map[string]any{"x": struct{}{}}, []float32{1}} {
		if _, err := EncodeValue(v); !errors.Is(err, ErrValue) {
			t.Errorf("EncodeValue(%#v) err = %v, want ErrValue", v, err)
		}
	}
}

// TestEncodeList checks that a list assembled from encoded items is the list's own
// encoding, so a for_each step's whole output needs no second encoding.
func TestEncodeList(t *testing.T) {
	tests := []struct {
		name  string
		items []any
	}{
		{"none", []any{}},
		{"objects", []any{map[string]any{"v": []any{0.5, 1.5}}, map[string]any{"v": []any{2.5}}}},
		{"mixed", []any{"a", 1.5, nil}},
		{"numbers only", []any{1.5, 2.5}}, // packed: EncodeList declines
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts := make([][]byte, len(tt.items))
			for i, it := range tt.items {
				parts[i], _ = EncodeValue(it)
			}
			want, _ := EncodeValue(tt.items)
			got := EncodeList(parts)
			if got == nil {
				if want[1] != tagFloats {
					t.Fatal("EncodeList declined a list it can assemble")
				}
				return
			}
			if !bytes.Equal(got, want) {
				t.Errorf("EncodeList = %x, want %x", got, want)
			}
		})
	}
}

// TestDecodeValueMalformed feeds truncated and corrupt data: every case is an error,
// never a panic or an allocation the data's size does not bound.
func TestDecodeValueMalformed(t *testing.T) {
	good, _ := EncodeValue(map[string]any{"v": []any{0.5, 1.5}, "s": "text", "l": []any{"a", nil}})
	for i := 1; i < len(good); i++ {
		if _, err := DecodeValue(good[:i]); !errors.Is(err, ErrValue) {
			t.Errorf("truncated to %d bytes: err = %v", i, err)
		}
	}
	deep := []byte{valueMagic}
	for range maxValueDepth + 2 {
		deep = append(deep, tagList, 1)
	}
	deep = append(deep, tagNull)
	for _, b := range [][]byte{
		{valueMagic, 0x7f}, // unknown tag
		{valueMagic, tagFloats, 0xff, 0xff, 0xff, 0xff, 0x0f},                             // count far past the end
		{valueMagic, tagList, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, // huge count
		{valueMagic, tagNull, tagNull},                                                    // trailing data
		{valueMagic},                                                                      // no value
		[]byte(`{"unterminated"`),                                                         // bad JSON
		deep,
	} {
		if _, err := DecodeValue(b); !errors.Is(err, ErrValue) {
			t.Errorf("DecodeValue(%x) err = %v, want ErrValue", b, err)
		}
	}
}

// TestStepEncodedOutput stores a record with an encoded output and reads it back
// as JSON (runs show) and as the stored bytes (resume).
func TestStepEncodedOutput(t *testing.T) {
	ctx := context.Background()
	s := withRun(t)
	v := map[string]any{"vector": []any{0.25, -1.0}, "text": "x"}
	enc, _ := EncodeValue(v)
	r := itemRecord("embed", 0)
	r.Output, r.Encoded = nil, enc
	if err := s.PutSteps(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetStep(ctx, r.RunID, "embed", 0)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Output) != `{"text":"x","vector":[0.25,-1]}` || !bytes.Equal(got.Encoded, enc) {
		t.Errorf("read back Output %s, Encoded %x", got.Output, got.Encoded)
	}
	r.Item, r.Encoded = 1, []byte(`{"not":"encoded"}`)
	if err := s.PutSteps(ctx, r); !errors.Is(err, ErrInvalid) {
		t.Errorf("PutSteps with JSON in Encoded: err = %v, want ErrInvalid", err)
	}
}

// TestCacheGetMany looks up present, missing, expired and corrupt keys at once.
func TestCacheGetMany(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	for _, e := range []CacheEntry{
		{Key: "a", Value: []byte(`"A"`)},
		{Key: "b", Value: []byte(`"B"`)},
		{Key: "old", Value: []byte(`"O"`), ExpiresAt: ptime(t0)},
		{Key: "bad", Value: []byte(`"X"`)},
	} {
		if err := s.CachePut(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.p.w.Exec(`UPDATE cache SET value = ? WHERE key = 'bad'`, []byte(`"Y"`)); err != nil {
		t.Fatal(err)
	}
	got, err := s.CacheGetMany(ctx, []string{"a", "b", "missing", "old", "bad", "a"}, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || string(got["a"].Value) != `"A"` || string(got["b"].Value) != `"B"` || got["a"].Hits != 1 {
		t.Errorf("CacheGetMany = %+v; want a (1 hit) and b", got)
	}
	if sum := got["a"].Sum; len(sum) != 32 {
		t.Errorf("entry sum %x, want its SHA-256", sum)
	}
	st, err := s.CacheStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.CorruptDropped != 1 || st.Entries != 3 {
		t.Errorf("after the lookup: %d corrupt dropped, %d entries; want 1 and 3", st.CorruptDropped, st.Entries)
	}
}

// TestMigrateCacheHits upgrades a version-3 database whose hit counts live in the
// cache rows: the counts move to cache_hits and read back unchanged.
func TestMigrateCacheHits(t *testing.T) {
	sqliteOnly(t)
	dir := t.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(dir, DBFile))
	if err != nil {
		t.Fatal(err)
	}
	setup := sqliteSteps(migrations[:3])
	setup = append(setup, `CREATE TABLE schema_version (version INTEGER NOT NULL)`, `INSERT INTO schema_version VALUES (3)`,
		`INSERT INTO cache (key, value, sum, size, created_at, hits, last_hit_at) VALUES ('k', x'22', x'00', 1, 1, 7, 9)`,
		`INSERT INTO cache (key, value, sum, size, created_at) VALUES ('cold', x'22', x'00', 1, 1)`)
	for _, q := range setup {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	s := openStore(t, dir)
	es, err := s.CacheList(context.Background(), CacheFilter{})
	if err != nil {
		t.Fatal(err)
	}
	hits := map[string]int{}
	for _, e := range es {
		hits[e.Key] = e.Hits
	}
	if d := cmp.Diff(map[string]int{"k": 7, "cold": 0}, hits); d != "" {
		t.Errorf("hits after upgrade (-want +got):\n%s", d)
	}
	if _, err := s.CacheClear(context.Background(), CacheFilter{}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.p.r.QueryRow(`SELECT count(*) FROM cache_hits`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d hit rows (%v) left after clearing the cache, want 0", n, err)
	}
}

// TestStepItemsOutput records a for_each step's whole output as a reference to its
// items: Steps and GetStep read back the list, as JSON and in the binary form.
func TestStepItemsOutput(t *testing.T) {
	ctx := context.Background()
	s := withRun(t)
	items := []any{map[string]any{"v": []any{0.5}}, map[string]any{"v": []any{1.5}}}
	var recs []StepRecord
	for i, it := range items {
		r := itemRecord("embed", i)
		r.Output, r.Encoded = nil, mustEncode(t, it)
		recs = append(recs, r)
	}
	whole := itemRecord("embed", WholeStep)
	whole.Output, whole.Encoded = nil, ItemsValue(len(items))
	if err := s.PutSteps(ctx, append(recs, whole)...); err != nil {
		t.Fatal(err)
	}
	wantJSON, wantEnc := `[{"v":[0.5]},{"v":[1.5]}]`, mustEncode(t, items)
	got, err := s.GetStep(ctx, "r1", "embed", WholeStep)
	if err != nil {
		t.Fatal(err)
	}
	all, err := s.Steps(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		if r.Item == WholeStep {
			got2 := r
			if string(got2.Output) != wantJSON || !bytes.Equal(got2.Encoded, wantEnc) {
				t.Errorf("Steps: whole output %s / %x, want %s / %x", got2.Output, got2.Encoded, wantJSON, wantEnc)
			}
		}
	}
	if string(got.Output) != wantJSON || !bytes.Equal(got.Encoded, wantEnc) {
		t.Errorf("GetStep: whole output %s / %x, want %s / %x", got.Output, got.Encoded, wantJSON, wantEnc)
	}
	t.Run("a missing item is an error", func(t *testing.T) {
		whole.StepID, whole.Encoded = "other", ItemsValue(1)
		if err := s.PutSteps(ctx, whole); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetStep(ctx, "r1", "other", WholeStep); err == nil || !strings.Contains(err.Error(), "item 0 of 1 is missing") {
			t.Errorf("GetStep with its item missing: err = %v", err)
		}
	})
	if _, err := DecodeValue(ItemsValue(2)); !errors.Is(err, ErrValue) {
		t.Errorf("DecodeValue(ItemsValue) err = %v, want ErrValue", err)
	}
}

func mustEncode(t *testing.T, v any) []byte {
	t.Helper()
	b, err := EncodeValue(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDecodedFloatsBehave checks the floats DecodeValue boxes without allocating each:
// they compare, convert and survive a collection like floats boxed one by one.
func TestDecodedFloatsBehave(t *testing.T) {
	want := []any{0.5, -2.25, 1e-300, 0.0, math.MaxFloat64}
	b := mustEncode(t, want)
	v, err := DecodeValue(b)
	if err != nil {
		t.Fatal(err)
	}
	got := v.([]any)
	b = nil
	runtime.GC()
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("element %d = %v, want %v", i, got[i], want[i])
		}
		if f, ok := got[i].(float64); !ok || f != want[i].(float64) {
			t.Errorf("element %d: %T %v", i, got[i], got[i])
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || !cmp.Equal(got, want) {
		t.Errorf("decoded %v, want %v", got, want)
	}
	vec := make([]any, 768)
	for i := range vec {
		vec[i] = float64(i) / 7
	}
	enc := mustEncode(t, vec)
	if a := testing.AllocsPerRun(10, func() { DecodeValue(enc) }); a > 4 {
		t.Errorf("%v allocations to decode a 768-float vector; want at most 4", a)
	}
}

// TestSmallOutputsInline: outputs of at most inlineOutputMax bytes stay in the step row,
// with no blob to write, look up or sweep; larger ones go to the blobs table.
func TestSmallOutputsInline(t *testing.T) {
	ctx := context.Background()
	s := withRun(t)
	small := mustEncode(t, map[string]any{"value": 42.0})
	large := mustEncode(t, map[string]any{"value": strings.Repeat("x", inlineOutputMax)})
	a, b, c := itemRecord("t", 0), itemRecord("t", 1), itemRecord("j", 0)
	a.Output, a.Encoded = nil, small
	b.Output, b.Encoded = nil, large
	c.Output = json.RawMessage(`{"v":1}`)
	if err := s.PutSteps(ctx, a, b, c); err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct {
		step string
		item int
		out  string
	}{{"t", 0, `{"value":42}`}, {"t", 1, `{"value":"` + strings.Repeat("x", inlineOutputMax) + `"}`}, {"j", 0, `{"v":1}`}} {
		got, err := s.GetStep(ctx, "r1", w.step, w.item)
		if err != nil || string(got.Output) != w.out {
			t.Errorf("%s[%d] = %s, %v; want %s", w.step, w.item, got.Output, err, w.out)
		}
	}
	var n int
	if err := s.p.r.QueryRow(`SELECT count(*) FROM blobs`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d blobs (%v); want only the large output's", n, err)
	}
}

// embedOutput is an embed step's output for one text: its vector twice, as vector and
// as vectors[0].
func embedOutput(seed float64, dims int) map[string]any {
	vec := make([]any, dims)
	for i := range vec {
		vec[i] = seed + float64(i)/7
	}
	return map[string]any{"vector": vec, "vectors": []any{vec}, "dimensions": float64(dims), "count": 1.0}
}

// TestRepeatedVectorStoredOnce is issue 18: an embed output held its vector twice, and a
// cached re-run of a 1,000-chunk ingest read and decoded 12 MB for 6 MB of vectors. A
// repeat is now a reference to the first copy, decoded to the same list.
func TestRepeatedVectorStoredOnce(t *testing.T) {
	out := embedOutput(0.5, 768)
	b := mustEncode(t, out)
	if max := 8*768 + 64; len(b) > max {
		t.Errorf("embed output encodes to %d bytes, want at most %d (the vector once)", len(b), max)
	}
	v, err := DecodeValue(b)
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(v, any(out)) {
		t.Errorf("decoded value differs from the output")
	}
	m := v.(map[string]any)
	if &m["vector"].([]any)[0] != &m["vectors"].([]any)[0].([]any)[0] {
		t.Error("vector and vectors[0] decode to different lists")
	}
	if a := testing.AllocsPerRun(10, func() { DecodeValue(b) }); a > 16 {
		t.Errorf("%v allocations to decode an embed output; want at most 16 (one vector)", a)
	}
	js, err := ValueJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(out)
	if !bytes.Equal(js, want) {
		t.Errorf("ValueJSON differs from the output's JSON")
	}

	// Short lists, and lists that differ, are written in full; a list of items with
	// equal vectors is still the concatenation of its items (references stay inside
	// their item).
	short := []any{1.0, 2.0}
	for _, tt := range []struct {
		name string
		v    any
	}{
		{"short repeats", map[string]any{"a": short, "b": short}},
		{"different vectors", map[string]any{"a": embedOutput(1, 16)["vector"], "b": embedOutput(2, 16)["vector"]}},
		{"nested repeats", []any{embedOutput(1, 16), map[string]any{"x": []any{embedOutput(1, 16)}}}},
	} {
		b := mustEncode(t, tt.v)
		got, err := DecodeValue(b)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !cmp.Equal(got, tt.v) {
			t.Errorf("%s: decoded %v, want %v", tt.name, got, tt.v)
		}
	}
	items := []any{embedOutput(1, 16), embedOutput(1, 16), embedOutput(2, 16)}
	parts := make([][]byte, len(items))
	for i, it := range items {
		parts[i] = mustEncode(t, it)
	}
	if got, want := EncodeList(parts), mustEncode(t, items); !bytes.Equal(got, want) {
		t.Errorf("EncodeList of items with references = %x, want %x", got, want)
	}
}

// TestDecodeValueBadReference: a reference to anything but an earlier packed list of
// numbers is an error.
func TestDecodeValueBadReference(t *testing.T) {
	good := mustEncode(t, embedOutput(0.5, 16))
	ref := bytes.LastIndexByte(good, tagRef)
	if ref < 0 {
		t.Fatal("no reference in an embed output")
	}
	for _, tt := range []struct {
		name string
		data []byte
	}{
		{"to itself", append([]byte{valueMagic, tagList, 1, tagRef}, 0)},
		{"before the start", []byte{valueMagic, tagList, 1, tagRef, 9}},
		{"to a string", []byte{valueMagic, tagList, 2, tagString, 1, 'x', tagRef, 3}},
		{"to a short list", []byte{valueMagic, tagList, 2, tagFloats, 1, 0, 0, 0, 0, 0, 0, 0, 0, tagRef, 10}},
		{"truncated", append([]byte{valueMagic, tagList, 1, tagRef}, 0x80)},
		{"off by one", append(append([]byte{}, good[:ref+1]...), good[ref+1]+1)},
	} {
		if _, err := DecodeValue(tt.data); !errors.Is(err, ErrValue) {
			t.Errorf("%s: err = %v, want ErrValue", tt.name, err)
		}
	}
}

// TestCacheHitsCountedInGroups: hits of many keys looked up together are counted by
// the group (issue 18: one statement per key cost a cached re-run a thousand); every
// key still gets its own count and time, and a key deleted meanwhile gets none.
func TestCacheHitsCountedInGroups(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	var keys []string
	for i := range 300 {
		k := fmt.Sprintf("k%03d", i)
		keys = append(keys, k)
		if err := s.CachePut(ctx, CacheEntry{Key: k, Value: []byte(`1`)}); err != nil {
			t.Fatal(err)
		}
	}
	for round, now := range []time.Time{t0, t0.Add(time.Minute)} {
		lookup := keys
		if round == 1 {
			lookup = keys[:100] // a second, smaller group at another time
		}
		if _, err := s.CacheGetMany(ctx, lookup, now); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CacheGetMany(ctx, []string{"k299"}, t0.Add(2*time.Minute)); err != nil { // a group of one
		t.Fatal(err)
	}
	if _, err := s.p.w.Exec(`DELETE FROM cache WHERE key = 'k150'`); err != nil {
		t.Fatal(err)
	}
	list, err := s.CacheList(ctx, CacheFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 299 {
		t.Fatalf("%d entries, want 299", len(list))
	}
	for _, e := range list {
		var i int
		fmt.Sscanf(e.Key, "k%d", &i)
		want := 1
		switch {
		case i < 100:
			want = 2
		case i == 299:
			want = 2
		}
		if e.Hits != want {
			t.Errorf("%s: %d hits, want %d", e.Key, e.Hits, want)
		}
	}
	var orphan int
	if err := s.p.r.QueryRowContext(ctx, `SELECT count(*) FROM cache_hits WHERE key NOT IN (SELECT key FROM cache)`).Scan(&orphan); err != nil {
		t.Fatal(err)
	}
	if orphan != 0 {
		t.Errorf("%d hit rows without an entry", orphan)
	}
}
