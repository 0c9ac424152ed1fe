package local

import (
	"math"
	"slices"
)

// term is one weighted vocabulary entry of a sparse vector.
type term struct {
	id int32
	w  float64
}

// sparseVec is an L2-normalised TF-IDF vector with terms sorted by id.
type sparseVec []term

// termStat is a vocabulary entry: its id and inverse document frequency.
type termStat struct {
	id  int32
	idf float64
}

// contentTerms returns the non-stop words of s with plurals folded.
func contentTerms(s string) []string {
	ws := words(s)
	out := ws[:0]
	for _, w := range ws {
		if !isStopWord(w) {
			out = append(out, fold(w))
		}
	}
	return out
}

// tfidfVectors builds one vector per sentence, treating sentences as the documents of the
// IDF, and returns the vocabulary for query vectors.
func tfidfVectors(sents []string) ([]sparseVec, map[string]termStat) {
	vocab := map[string]termStat{}
	counts := make([]map[int32]int, len(sents))
	df := map[int32]int{}
	for i, s := range sents {
		counts[i] = map[int32]int{}
		for _, t := range contentTerms(s) {
			st, ok := vocab[t]
			if !ok {
				st = termStat{id: int32(len(vocab))}
				vocab[t] = st
			}
			if counts[i][st.id]++; counts[i][st.id] == 1 {
				df[st.id]++
			}
		}
	}
	n := float64(len(sents))
	for t, st := range vocab {
		st.idf = math.Log(1 + n/float64(df[st.id]))
		vocab[t] = st
	}
	idf := make([]float64, len(vocab))
	for _, st := range vocab {
		idf[st.id] = st.idf
	}
	vecs := make([]sparseVec, len(sents))
	for i, c := range counts {
		vecs[i] = weigh(c, idf)
	}
	return vecs, vocab
}

// queryVector is the TF-IDF vector of q over vocab; words outside it are ignored.
func queryVector(q string, vocab map[string]termStat) sparseVec {
	c := map[int32]int{}
	idf := make([]float64, len(vocab))
	for _, t := range contentTerms(q) {
		if st, ok := vocab[t]; ok {
			c[st.id]++
			idf[st.id] = st.idf
		}
	}
	return weigh(c, idf)
}

// weigh turns term counts into a normalised (1+ln tf)·idf vector.
func weigh(counts map[int32]int, idf []float64) sparseVec {
	v := make(sparseVec, 0, len(counts))
	for id, c := range counts {
		v = append(v, term{id, (1 + math.Log(float64(c))) * idf[id]})
	}
	slices.SortFunc(v, func(a, b term) int { return int(a.id - b.id) }) // fixed sum order below
	var norm2 float64
	for _, t := range v {
		norm2 += t.w * t.w
	}
	if norm2 == 0 {
		return nil
	}
	inv := 1 / math.Sqrt(norm2)
	for i := range v {
		v[i].w *= inv
	}
	return v
}

// dot is the cosine of two normalised sparse vectors.
func (a sparseVec) dot(b sparseVec) float64 {
	var s float64
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i].id < b[j].id:
			i++
		case a[i].id > b[j].id:
			j++
		default:
			s += a[i].w * b[j].w
			i++
			j++
		}
	}
	return s
}
