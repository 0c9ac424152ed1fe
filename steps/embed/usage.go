package embed

import "github.com/aiflow/aiflow/providers"

// shareUsage splits u across parts in proportion to weights. Integer counts are split so
// the parts sum exactly to u (the remainder goes to the last weighted part); the request
// count goes to the first weighted part, since the batch was one request.
func shareUsage(u providers.Usage, weights []int) []providers.Usage {
	out := make([]providers.Usage, len(weights))
	total, first, last := 0, -1, -1
	for i, w := range weights {
		total += w
		if w > 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if total == 0 {
		if len(out) > 0 {
			out[0] = u
		}
		return out
	}
	var given providers.Usage
	for i, w := range weights {
		if w == 0 || i == last {
			continue
		}
		f := float64(w) / float64(total)
		out[i] = providers.Usage{
			InputTokens:  u.InputTokens * w / total,
			OutputTokens: u.OutputTokens * w / total,
			CachedTokens: u.CachedTokens * w / total,
			Neurons:      u.Neurons * f,
			USD:          u.USD * f,
		}
		given = given.Add(out[i])
	}
	out[last] = providers.Usage{
		InputTokens:  u.InputTokens - given.InputTokens,
		OutputTokens: u.OutputTokens - given.OutputTokens,
		CachedTokens: u.CachedTokens - given.CachedTokens,
		Neurons:      u.Neurons - given.Neurons,
		USD:          u.USD - given.USD,
	}
	out[first].Requests = u.Requests
	return out
}
