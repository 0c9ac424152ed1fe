package localindex

import (
	"encoding/json"
	"fmt"
)

// putUpsert appends one upsert record holding es.
func (e *encoder) putUpsert(es []entry, metaJSON [][]byte) {
	start := e.begin(recUpsert)
	e.uvarint(uint64(len(es)))
	for i := range es {
		x := &es[i]
		e.str(x.id)
		e.str(x.ns)
		e.str(x.text)
		e.bytes(metaJSON[i])
		e.f32(x.norm)
		e.f32s(x.values)
	}
	e.end(start)
}

// putDelete appends one delete record.
func (e *encoder) putDelete(ids []string) {
	start := e.begin(recDelete)
	e.uvarint(uint64(len(ids)))
	for _, id := range ids {
		e.str(id)
	}
	e.end(start)
}

// getUpsert decodes an upsert payload (after its type byte); values land in *scratch.
func getUpsert(d *decoder, dim int, scratch *[]float32) ([]entry, error) {
	n := d.uvarint()
	if n > uint64(len(d.b))/uint64(4*dim) {
		return nil, fmt.Errorf("upsert record claims %d vectors in %d bytes", n, len(d.b))
	}
	if cap(*scratch) < int(n)*dim {
		*scratch = make([]float32, int(n)*dim)
	}
	vals := (*scratch)[:int(n)*dim]
	es := make([]entry, n)
	for i := range es {
		x := &es[i]
		x.id, x.ns, x.text = d.str(), d.str(), d.str()
		m, err := decodeMeta(d.bytes())
		if err != nil {
			return nil, fmt.Errorf("vector %q: %w", x.id, err)
		}
		x.meta = m
		x.norm = d.f32()
		x.values = vals[i*dim : (i+1)*dim]
		d.f32s(x.values)
	}
	return es, d.done()
}

// getDelete decodes a delete payload (after its type byte).
func getDelete(d *decoder) ([]string, error) {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		return nil, fmt.Errorf("delete record claims %d ids in %d bytes", n, len(d.b))
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = d.str()
	}
	return ids, d.done()
}

// encodeMeta returns metadata's canonical JSON and the decoded copy that gets stored: the
// round trip deep-copies caller maps and turns every number into float64, as in JSON.
func encodeMeta(m map[string]any) ([]byte, map[string]any, error) {
	if len(m) == 0 {
		return nil, nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, nil, fmt.Errorf("metadata is not JSON: %w", err)
	}
	out, err := decodeMeta(b)
	return b, out, err
}

func decodeMeta(b []byte) (map[string]any, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decoding metadata: %w", err)
	}
	return m, nil
}
