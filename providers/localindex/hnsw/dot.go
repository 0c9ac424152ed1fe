package hnsw

// Dot is the dot product of a and b, which must have the same length. On amd64 with
// AVX-512 it runs 16 lanes at a time in assembly, half the instructions of an AVX2
// kernel for the 384- and 768-dimensional vectors of embedding models; elsewhere it is
// vek32.Dot. Distance functions handed to New should call it: graph walks spend most of
// their time here. The dot product of empty vectors is 0; different lengths panic.
func Dot(a, b []float32) float32 {
	if len(a) == 0 && len(b) == 0 {
		return 0
	}
	return dot(a, b)
}
