package catalog

import "strings"

// audioMinuteNeurons prices speech recognition in Workers AI neurons per audio minute,
// from https://developers.cloudflare.com/workers-ai/platform/pricing/ (2025-08:
// whisper $0.0005 and 41.14 neurons per audio minute, whisper-large-v3-turbo $0.0005 and
// 46.63 neurons). whisper-tiny-en is not on the pricing page and stays unpriced.
var audioMinuteNeurons = map[string]float64{
	"@cf/openai/whisper":                41.14,
	"@cf/openai/whisper-large-v3-turbo": 46.63,
}

// AudioCost prices seconds of audio transcribed by m: neurons per audio minute for
// Workers AI models (USD at the neuron price), else a USD price "per audio minute" among
// its prices (published, or listed in models.json). ok is false when no price is known,
// so plan can say "unpriced" instead of $0.
func (m Model) AudioCost(seconds float64) (usd, neurons float64, ok bool) {
	minutes := seconds / 60
	if m.Provider == workersAI {
		if n, found := audioMinuteNeurons[m.ID]; found {
			neurons = minutes * n
			return neurons * NeuronUSD(), neurons, true
		}
	}
	for _, p := range m.Prices {
		if strings.EqualFold(p.Unit, "per audio minute") && p.Currency == "USD" {
			return minutes * p.Price, 0, true
		}
	}
	return 0, 0, false
}

// AudioPrice is a model's price for one audio minute, or ok false when unknown.
func AudioPrice(providerKind, id string) (usd float64, ok bool) {
	m, found := Lookup(providerKind, id)
	if !found {
		return 0, false
	}
	usd, _, ok = m.AudioCost(60)
	return usd, ok
}
