package localindex

// hit is a candidate during a search: key is higher-is-better whatever the metric.
type hit struct {
	slot uint32
	key  float32
}

// topK keeps the k best hits in a min-heap whose root is the worst kept.
type topK struct {
	k int
	h []hit
}

func newTopK(k int) *topK { return &topK{k: k, h: make([]hit, 0, k)} }

// push offers a hit; O(log k).
func (t *topK) push(slot uint32, key float32) {
	if len(t.h) < t.k {
		t.h = append(t.h, hit{slot, key})
		t.up(len(t.h) - 1)
		return
	}
	if key <= t.h[0].key {
		return
	}
	t.h[0] = hit{slot, key}
	t.down(0)
}

func (t *topK) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if t.h[p].key <= t.h[i].key {
			return
		}
		t.h[p], t.h[i] = t.h[i], t.h[p]
		i = p
	}
}

func (t *topK) down(i int) {
	n := len(t.h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && t.h[r].key < t.h[l].key {
			m = r
		}
		if t.h[i].key <= t.h[m].key {
			return
		}
		t.h[i], t.h[m] = t.h[m], t.h[i]
		i = m
	}
}

// drain empties the heap and returns its hits, best first.
func (t *topK) drain() []hit {
	out := make([]hit, len(t.h))
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = t.h[0]
		last := len(t.h) - 1
		t.h[0] = t.h[last]
		t.h = t.h[:last]
		t.down(0)
	}
	return out
}
