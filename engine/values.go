package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/steps"
)

// encoded is an output as the run store keeps it: in the binary value form
// (store.EncodeValue), secrets redacted, with its SHA-256 when already known. A call
// encodes its output once; the same bytes fill the cache and the step record, and a
// for_each step's whole output is assembled from its items' bytes (store.EncodeList).
// A cache hit records the entry's own bytes and sum: nothing is encoded or hashed again.
type encoded struct {
	data []byte
	sum  []byte
}

// roundTrip normalises a step's output to what JSON can hold and encodes it once for
// the cache and the run store. The value it returns is the real one: later steps of
// this run read it as it is. What is written anywhere (cache, records, printed outputs)
// is redacted; an output that held a secret is not cached (reusing its redacted copy
// would hand later runs "[REDACTED]" in place of the value), so cacheable is false.
// fresh is the step kind's FreshOutput: out is the engine's to change. keep is false
// when the bytes have no use (an ephemeral run's uncached call: nothing is recorded or
// cached); the output is then shaped, not encoded, and rec is empty. Encoding a shaped
// value cannot fail, so a step fails or succeeds alike either way.
func roundTrip(w *walker, out map[string]any, fresh, keep bool) (v any, rec encoded, cacheable bool, err error) {
	if fresh && shapeInPlace(out) {
		v = out
	} else if v, err = jsonShaped(out); err != nil {
		return nil, encoded{}, false, err
	}
	if !keep {
		return v, encoded{}, false, nil
	}
	if w.fl.secrets.holdsSecret(v) {
		return v, w.encodeRecord(v), false, nil
	}
	data, err := store.EncodeValue(v)
	if err != nil {
		return nil, encoded{}, false, fmt.Errorf("encoding step output: %w", err)
	}
	return v, encoded{data: data}, true, nil
}

// encodeRecord encodes an output for the run store, with secrets redacted. A value that
// does not encode (never one decoded from JSON) is recorded without bytes (see record).
func (w *walker) encodeRecord(v any) encoded {
	data, err := store.EncodeValue(w.fl.secrets.redactValue(v))
	if err != nil {
		return encoded{}
	}
	return encoded{data: data}
}

// fromCache decodes a cache entry's value and the bytes to record for it: the entry's
// own when they are in the binary form and hold no secret known now, so recording a hit
// references the stored value instead of copying it. ok is false for a value that does
// not decode, which the caller treats as a miss.
func (w *walker) fromCache(e store.CacheEntry) (v any, rec encoded, ok bool) {
	v, err := store.DecodeValue(e.Value)
	if err != nil {
		return nil, encoded{}, false
	}
	if store.IsEncodedValue(e.Value) && !w.fl.secrets.holdsSecret(v) {
		return v, encoded{data: e.Value, sum: e.Sum}, true
	}
	return v, w.encodeRecord(v), true
}

// fromStepRecord decodes a recorded output (resume) and the bytes to record it again.
func (w *walker) fromStepRecord(r store.StepRecord) (any, encoded, error) {
	if r.Encoded != nil {
		v, err := store.DecodeValue(r.Encoded)
		return v, encoded{data: r.Encoded}, err
	}
	var v any
	if err := json.Unmarshal(r.Output, &v); err != nil {
		return nil, encoded{}, err
	}
	return v, w.encodeRecord(v), nil
}

// setOutput puts an output into a record: its encoded bytes, or, when it has none, its
// redacted JSON text.
func (w *walker) setOutput(r *store.StepRecord, v any, rec encoded) {
	if rec.data != nil {
		r.Encoded, r.EncodedSum = rec.data, rec.sum
		return
	}
	if v != nil {
		r.Output, _ = json.Marshal(w.fl.secrets.redactValue(v))
	}
}

// listRecord is the record of a for_each step's whole output: a reference to its item
// records (store.ItemsValue), which hold every item's output already, or, when an item
// was recorded without bytes, the list encoded afresh.
func (w *walker) listRecord(outs []any, items []encoded) encoded {
	for _, it := range items {
		if it.data == nil {
			return w.encodeRecord(outs)
		}
	}
	return encoded{data: store.ItemsValue(len(items))}
}

func (w *walker) cachePut(n *Node, call *steps.Call, key string, value []byte, model string) {
	if key == "" {
		return
	}
	_, ttl, _ := w.fl.cachePolicy(n, call)
	var exp *time.Time
	if ttl > 0 {
		t := w.opts.Now().Add(ttl)
		exp = &t
	}
	_ = w.opts.Store.CachePut(context.WithoutCancel(w.ctx), store.CacheEntry{Key: key, StepID: n.ID, Kind: n.Kind.Name, Model: model, Value: value, ExpiresAt: exp})
}

// jsonShaped returns out as encoding/json would give it back after a round trip through
// JSON text: numbers as float64, lists as []any, objects as map[string]any, nil slices and
// maps as nil. The values steps usually return are converted directly; printing and
// parsing JSON text cost a small flow's step about a seventh of its time. Anything else
// (structs, pointers, byte slices, NaN, invalid UTF-8) takes the JSON round trip itself,
// so the result and its errors are the same either way.
func jsonShaped(out map[string]any) (any, error) {
	if v, ok := shapeValue(out, 0); ok {
		return v, nil
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("step output is not JSON-encodable: %w", err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// shapeInPlace is jsonShaped for an output map the engine may change (a kind's
// FreshOutput): its top-level values are replaced by their shaped forms, so the map is
// not copied when one of them changes (a transform's integer result: two allocations
// of every such step). Values inside are shaped as jsonShaped does, copied when they
// change. It reports false, leaving the rest to jsonShaped, for an output that is not
// a non-nil map of values shapeValue converts; the values replaced by then are their
// own JSON round trip, so jsonShaped gives the same result and errors from out.
func shapeInPlace(out map[string]any) bool {
	if out == nil {
		return false // jsonShaped gives nil
	}
	for k, e := range out {
		if !utf8.ValidString(k) {
			return false
		}
		s, changed, ok := shapeChanged(e, 1)
		if !ok {
			return false
		}
		if changed {
			out[k] = s
		}
	}
	return true
}

// maxShapeDepth bounds the nesting shapeValue follows before leaving a value to
// encoding/json (which reports a cycle as an error).
const maxShapeDepth = 1000

// shapeValue converts v for jsonShaped; ok is false when v holds anything it does not
// convert exactly as the JSON round trip would.
func shapeValue(v any, depth int) (any, bool) {
	if depth > maxShapeDepth {
		return nil, false
	}
	switch x := v.(type) {
	case nil:
		return nil, true
	case bool:
		return x, true
	case string:
		return x, utf8.ValidString(x)
	case float64:
		return x, finite(x)
	case float32:
		return shortFloat32(x)
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint:
		return float64(x), true
	case map[string]any:
		s, changed, ok := shapeMap(x, depth)
		if !changed {
			s = v
		}
		return s, ok
	case []any:
		s, changed, ok := shapeList(x, depth)
		if !changed {
			s = v
		}
		return s, ok
	case []string:
		if x == nil {
			return nil, true
		}
		l := make([]any, len(x))
		for i, e := range x {
			if !utf8.ValidString(e) {
				return nil, false
			}
			l[i] = e
		}
		return l, true
	case []float64:
		if x == nil {
			return nil, true
		}
		l := make([]any, len(x))
		for i, e := range x {
			if !finite(e) {
				return nil, false
			}
			l[i] = e
		}
		return l, true
	case []float32:
		if x == nil {
			return nil, true
		}
		l := make([]any, len(x))
		for i, e := range x {
			f, ok := shortFloat32(e)
			if !ok {
				return nil, false
			}
			l[i] = f
		}
		return l, true
	case []int:
		if x == nil {
			return nil, true
		}
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = float64(e)
		}
		return l, true
	case map[string]string:
		if x == nil {
			return nil, true
		}
		m := make(map[string]any, len(x))
		for k, e := range x {
			if !utf8.ValidString(k) || !utf8.ValidString(e) {
				return nil, false
			}
			m[k] = e
		}
		return m, true
	}
	return nil, false
}

// shapeChanged is shapeValue that also reports whether the value changed: a map or
// list already in the JSON shape comes back as it is, not copied (the copy of every
// output was an allocation or two of every step).
func shapeChanged(v any, depth int) (_ any, changed, ok bool) {
	if depth > maxShapeDepth {
		return nil, false, false
	}
	switch x := v.(type) {
	case nil, bool:
		return v, false, true
	case string:
		return v, false, utf8.ValidString(x)
	case float64:
		return v, false, finite(x)
	case map[string]any:
		s, changed, ok := shapeMap(x, depth)
		if !changed {
			s = v
		}
		return s, changed, ok
	case []any:
		s, changed, ok := shapeList(x, depth)
		if !changed {
			s = v // boxing x again would allocate
		}
		return s, changed, ok
	}
	s, ok := shapeValue(v, depth)
	return s, true, ok
}

// shapeMap shapes a map's values, copying the map only when one of them changes
// (unchanged, it returns nil: the caller keeps x).
func shapeMap(x map[string]any, depth int) (_ any, changed, ok bool) {
	if x == nil {
		return nil, true, true
	}
	var m map[string]any // the copy, from the first value that changes
	for k, e := range x {
		if !utf8.ValidString(k) {
			return nil, false, false
		}
		s, ch, ok := shapeChanged(e, depth+1)
		if !ok {
			return nil, false, false
		}
		if ch && m == nil {
			// Keys not visited yet are copied as they are and replaced when visited.
			m = make(map[string]any, len(x))
			for k2, e2 := range x {
				m[k2] = e2
			}
		}
		if m != nil {
			m[k] = s
		}
	}
	if m == nil {
		return nil, false, true // the caller keeps x
	}
	return m, true, true
}

// shapeList shapes a list's items, copying the list only when one of them changes
// (unchanged, it returns nil: the caller keeps x).
func shapeList(x []any, depth int) (_ any, changed, ok bool) {
	if x == nil {
		return nil, true, true
	}
	var l []any // the copy, from the first item that changes
	for i, e := range x {
		s, ch, ok := shapeChanged(e, depth+1)
		if !ok {
			return nil, false, false
		}
		if ch && l == nil {
			l = make([]any, len(x))
			copy(l, x[:i])
		}
		if l != nil {
			l[i] = s
		}
	}
	if l == nil {
		return nil, false, true // the caller keeps x
	}
	return l, true, true
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// shortFloat32 is the float64 that encoding/json reads back for a float32: the float32's
// shortest decimal form, parsed at 64 bits (so 0.1 stays 0.1, not 0.10000000149…).
func shortFloat32(f float32) (any, bool) {
	x := float64(f)
	if !finite(x) {
		return nil, false
	}
	if x == math.Trunc(x) && math.Abs(x) < 1<<24 {
		return x, true // an integer float32 is exact at 64 bits
	}
	var buf [32]byte
	s := strconv.AppendFloat(buf[:0], x, 'g', -1, 32)
	p, err := strconv.ParseFloat(string(s), 64)
	return p, err == nil
}
