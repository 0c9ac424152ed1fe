package tokens

import (
	"container/heap"
	"math"
)

// rankTable returns the encoding's vocabulary, token bytes → rank. In
// tiktoken a token's rank is its id. The library keeps its table private, so
// it is rebuilt once by decoding every id.
func (e *Encoder) rankTable() map[string]int {
	e.ranksOnce.Do(func() {
		c := e.lib()
		ranks := make(map[string]int, 1<<17)
		// Ids are dense from 0; stop after a long gap (special tokens are
		// not in the vocabulary and decode to an error).
		for id, misses := 0, 0; misses < 4096; id++ {
			tok, err := c.Decode([]uint{uint(id)})
			if err != nil || tok == "" {
				misses++
				continue
			}
			misses = 0
			ranks[tok] = id
		}
		e.ranks = ranks
	})
	return e.ranks
}

// bytePairEncode byte-pair encodes one pre-token and calls yield with each
// token's id and byte length, as tiktoken's byte_pair_encode does: while any
// adjacent pair of parts forms a token, merge the pair of lowest rank,
// leftmost first.
func (e *Encoder) bytePairEncode(piece string, yield func(id, n int)) {
	ranks := e.rankTable()
	if id, ok := ranks[piece]; ok {
		yield(id, len(piece))
		return
	}
	if len(piece) <= smallPiece {
		e.smallMerge(piece, yield)
		return
	}
	m := newMerger(piece, ranks)
	for m.step() {
	}
	for i := 0; i < len(piece); i = m.next[i] {
		yield(ranks[piece[i:m.next[i]]], m.next[i]-i)
	}
}

const noRank = math.MaxInt

// smallPiece is the longest pre-token smallMerge takes. Its quadratic scan
// of a few parts on the stack beats the heap on short pieces, which is
// nearly all of them; tiktoken itself uses that scan for every piece.
const smallPiece = 64

// smallMerge byte-pair encodes piece, at most smallPiece bytes, the way
// merger does: repeatedly merge the adjacent pair of lowest rank, leftmost
// first. It does not allocate.
func (e *Encoder) smallMerge(piece string, yield func(id, n int)) {
	bytes := e.tables()
	var start [smallPiece + 1]int // part k is piece[start[k]:start[k+1]]
	var id [smallPiece]int        // part k's token id
	var pair [smallPiece]int      // rank of parts k and k+1 merged
	parts := len(piece)
	for k := range parts {
		start[k], id[k] = k, bytes.single[piece[k]]
	}
	start[parts] = parts
	for k := range parts - 1 {
		pair[k] = noRank
		if r := bytes.pairs[int(piece[k])<<8|int(piece[k+1])]; r != math.MaxInt32 {
			pair[k] = int(r)
		}
	}
	rerank := func(k int) { // parts k and k+1 exist
		pair[k] = noRank
		if r, ok := bytes.lookup(e, piece, start[k], start[k+2]); ok {
			pair[k] = r
		}
	}
	for parts > 1 {
		best, at := noRank, -1
		for k := range parts - 1 {
			if pair[k] < best {
				best, at = pair[k], k
			}
		}
		if at < 0 {
			break
		}
		id[at] = best
		copy(start[at+1:parts], start[at+2:parts+1])
		copy(id[at+1:parts-1], id[at+2:parts])
		copy(pair[at+1:parts-1], pair[at+2:parts])
		parts--
		if at+1 < parts {
			rerank(at)
		} else {
			pair[at] = noRank
		}
		if at > 0 {
			rerank(at - 1)
		}
	}
	for k := range parts {
		yield(id[k], start[k+1]-start[k])
	}
}

// fastTables holds the ranks smallMerge starts from, of each byte and of
// each pair of bytes (noRank when the pair is not a token), and, for
// encoders with the ASCII fast path, the short tokens' table.
type fastTables struct {
	single [256]int
	pairs  [1 << 16]int32
	short  *shortVocab
	mid    *midVocab
	merges mergeCache
}

func (e *Encoder) tables() *fastTables {
	e.tablesOnce.Do(func() {
		ranks := e.rankTable()
		t := new(fastTables)
		var b [2]byte
		for i := range 256 {
			b[0] = byte(i)
			t.single[i] = ranks[string(b[:1])] // byte-level BPE: every byte is a token
			for j := range 256 {
				b[1] = byte(j)
				t.pairs[i<<8|j] = math.MaxInt32
				if r, ok := ranks[string(b[:])]; ok {
					t.pairs[i<<8|j] = int32(r)
				}
			}
		}
		if e.fastASCII {
			t.short, t.mid = newShortVocab(ranks), newMidVocab(ranks)
		}
		e.fast = t
	})
	return e.fast
}

// merger holds the parts of a piece as a linked list of boundaries: a part
// starts at i and ends at next[i]; rank[i] is the rank of the token formed by
// merging part i with its successor. pairs holds candidate merges, some stale.
type merger struct {
	piece      string
	ranks      map[string]int
	next, prev []int
	rank       []int
	pairs      pairHeap
}

func newMerger(piece string, ranks map[string]int) *merger {
	n := len(piece)
	m := &merger{piece: piece, ranks: ranks, next: make([]int, n+1), prev: make([]int, n+1), rank: make([]int, n+1)}
	for i := range n + 1 {
		m.next[i], m.prev[i], m.rank[i] = i+1, i-1, noRank
	}
	for i := range n - 1 {
		m.rerank(i)
	}
	return m
}

// rerank recomputes the merge rank at boundary i and queues it.
func (m *merger) rerank(i int) {
	m.rank[i] = noRank
	j := m.next[i]
	if j >= len(m.piece) {
		return
	}
	if r, ok := m.ranks[m.piece[i:m.next[j]]]; ok {
		m.rank[i] = r
		heap.Push(&m.pairs, pair{r, i})
	}
}

// step performs the next merge and reports whether there was one.
func (m *merger) step() bool {
	for m.pairs.Len() > 0 {
		p := heap.Pop(&m.pairs).(pair)
		if m.rank[p.at] != p.rank || m.next[p.at] >= len(m.piece) {
			continue // stale
		}
		j := m.next[p.at]
		m.next[p.at] = m.next[j]
		if m.next[j] <= len(m.piece) {
			m.prev[m.next[j]] = p.at
		}
		m.rank[j] = noRank
		m.rerank(p.at)
		if q := m.prev[p.at]; q >= 0 {
			m.rerank(q)
		}
		return true
	}
	return false
}

// pair is a candidate merge of the part at offset at with its successor.
type pair struct{ rank, at int }

// pairHeap orders candidates by rank, then offset, so equal ranks merge
// leftmost first.
type pairHeap []pair

func (h pairHeap) Len() int { return len(h) }
func (h pairHeap) Less(a, b int) bool {
	if h[a].rank != h[b].rank {
		return h[a].rank < h[b].rank
	}
	return h[a].at < h[b].at
}
func (h pairHeap) Swap(a, b int) { h[a], h[b] = h[b], h[a] }
func (h *pairHeap) Push(x any)   { *h = append(*h, x.(pair)) }
func (h *pairHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
