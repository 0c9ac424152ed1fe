package local

import (
	"math"
	"slices"
)

// Lexical embeddings by feature hashing (the signed "hashing trick").
//
// A text is lowercased and split into words. Three feature families are extracted: word
// unigrams, word bigrams and character 3–5-grams of each word wrapped in boundary markers
// ("<go>" gives "<go", "go>", "<go>"). Each distinct feature gets the sublinear weight
// 1+ln(tf); common English stop words are down-weighted to stopFactor in the unigram
// family and contribute no character n-grams. Each family is L2-normalised on its own, scaled
// by its family weight, and hashed into a fixed number of dimensions with a hash-derived sign
// (so collisions cancel out on average instead of piling up). The sum is L2-normalised, so a
// dot product of two vectors is their cosine similarity.
//
// The hash is FNV-1a (64-bit) with a fixed per-family seed, followed by a splitmix64
// finaliser: vectors are identical across processes, machines and releases that keep these
// constants. The vectors are lexical, not semantic: similar texts are texts that share words
// and word pieces. There is no IDF, because the embedder sees one text at a time.

const (
	defaultDimensions = 768
	minDimensions     = 16
	maxDimensions     = 1 << 16

	unigramWeight = 1.0
	bigramWeight  = 0.45
	charWeight    = 0.75
	stopFactor    = 0.2
	minCharGram   = 3
	maxCharGram   = 5
)

// Family seeds keep "go" the word, "go" in a bigram and "go" the character gram apart.
const (
	seedUnigram uint64 = 0x9e3779b97f4a7c15
	seedBigram  uint64 = 0xc2b2ae3d27d4eb4f
	seedChar    uint64 = 0x165667b19e3779f9
)

// hashEmbedder turns texts into lexical feature-hashing vectors. It is a value with no
// mutable state, safe for concurrent use.
type hashEmbedder struct{ dims int }

// feature is one feature occurrence: its hash and a weight factor (stop words get less).
type feature struct {
	h uint64
	w float64
}

// embed returns the L2-normalised vector of text; a text without words gets the zero vector.
func (e hashEmbedder) embed(text string) []float32 {
	toks := words(text)
	acc := make([]float64, e.dims)
	feats := make([]feature, 0, 16*len(toks))
	feats = unigramFeatures(toks, feats[:0])
	e.addFamily(acc, feats, unigramWeight)
	feats = bigramFeatures(toks, feats[:0])
	e.addFamily(acc, feats, bigramWeight)
	feats = charFeatures(toks, feats[:0])
	e.addFamily(acc, feats, charWeight)
	return normalise(acc)
}

func unigramFeatures(toks []string, dst []feature) []feature {
	for _, t := range toks {
		w := 1.0
		if isStopWord(t) {
			w = stopFactor
		}
		dst = append(dst, feature{h: fnvString(seedUnigram, t), w: w})
	}
	return dst
}

// bigramFeatures skips pairs of two stop words ("of the"), which carry no topic.
func bigramFeatures(toks []string, dst []feature) []feature {
	for i := 1; i < len(toks); i++ {
		a, b := toks[i-1], toks[i]
		if isStopWord(a) && isStopWord(b) {
			continue
		}
		h := fnvByte(fnvString(seedBigram, a), ' ')
		dst = append(dst, feature{h: fnvAppend(h, b), w: 1})
	}
	return dst
}

func charFeatures(toks []string, dst []feature) []feature {
	buf := make([]byte, 0, 32)
	offs := make([]int, 0, 32)
	for _, t := range toks {
		if isStopWord(t) {
			continue
		}
		buf = append(append(append(buf[:0], '<'), t...), '>')
		offs = runeOffsets(buf, offs[:0])
		runes := len(offs) - 1
		for n := minCharGram; n <= maxCharGram && n <= runes; n++ {
			for i := 0; i+n <= runes; i++ {
				dst = append(dst, feature{h: fnvBytes(seedChar, buf[offs[i]:offs[i+n]]), w: 1})
			}
		}
	}
	return dst
}

// runeOffsets appends the byte offset of every rune in b, then len(b).
func runeOffsets(b []byte, dst []int) []int {
	for i := range string(b) {
		dst = append(dst, i)
	}
	return append(dst, len(b))
}

// addFamily merges repeated features into 1+ln(tf) weights, normalises the family to length
// weight, and adds it into acc with hashed indexes and signs.
func (e hashEmbedder) addFamily(acc []float64, feats []feature, weight float64) {
	if len(feats) == 0 {
		return
	}
	slices.SortFunc(feats, func(a, b feature) int {
		switch {
		case a.h < b.h:
			return -1
		case a.h > b.h:
			return 1
		}
		return 0
	})
	uniq := feats[:0]
	var norm2 float64
	for i := 0; i < len(feats); {
		j := i + 1
		for j < len(feats) && feats[j].h == feats[i].h {
			j++
		}
		v := feats[i].w * (1 + math.Log(float64(j-i)))
		norm2 += v * v
		uniq = append(uniq, feature{h: feats[i].h, w: v})
		i = j
	}
	scale := weight / math.Sqrt(norm2)
	for _, f := range uniq {
		m := mix(f.h)
		v := f.w * scale
		if m>>63 == 1 {
			v = -v
		}
		acc[m%uint64(e.dims)] += v
	}
}

func normalise(acc []float64) []float32 {
	var norm2 float64
	for _, v := range acc {
		norm2 += v * v
	}
	out := make([]float32, len(acc))
	if norm2 == 0 {
		return out
	}
	inv := 1 / math.Sqrt(norm2)
	for i, v := range acc {
		out[i] = float32(v * inv)
	}
	return out
}

const (
	fnvOffset uint64 = 14695981039346656037
	fnvPrime  uint64 = 1099511628211
)

func fnvString(seed uint64, s string) uint64 { return fnvAppend(fnvOffset^seed, s) }

func fnvAppend(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

func fnvBytes(seed uint64, b []byte) uint64 {
	h := fnvOffset ^ seed
	for _, c := range b {
		h = (h ^ uint64(c)) * fnvPrime
	}
	return h
}

func fnvByte(h uint64, c byte) uint64 { return (h ^ uint64(c)) * fnvPrime }

// mix is the splitmix64 finaliser; it spreads FNV's weak low bits before the modulo.
func mix(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// cosine is the dot product of two L2-normalised vectors of equal length.
func cosine(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}
