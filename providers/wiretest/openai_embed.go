package wiretest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
)

// OpenAIMaxInputs is the most inputs one embeddings request may carry.
const OpenAIMaxInputs = 2048

var openAIEmbedFields = []string{"input", "model", "encoding_format", "dimensions", "user"}

type oaiEmbedBody struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"`
	EncodingFormat string          `json:"encoding_format"`
	Dimensions     *int            `json:"dimensions"`
}

// embeddings serves POST /embeddings with deterministic vectors (OpenAIEmbedding) and the
// `data` items in a shuffled order, each with its input `index`.
func (o *OpenAI) embeddings(w http.ResponseWriter, body []byte, f *Fault) {
	req, inputs, err := o.parseEmbed(body)
	if err != nil {
		o.fail.bad(w, err)
		return
	}
	dims := o.cfg.dims
	if req.Dimensions != nil {
		dims = *req.Dimensions
	}
	data := make([]map[string]any, len(inputs))
	tokens := 0
	for i, text := range inputs {
		vec := OpenAIEmbedding(text, dims)
		var emb any = vec
		if req.EncodingFormat == "base64" {
			emb = oaiBase64Floats(vec)
		}
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": emb}
		tokens += chatTokens(text)
	}
	sum := sha256.Sum256(body)
	rng := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(sum[:8]), 1))
	rng.Shuffle(len(data), func(i, j int) { data[i], data[j] = data[j], data[i] })
	out, _ := json.Marshal(map[string]any{"object": "list", "data": data, "model": req.Model,
		"usage": map[string]any{"prompt_tokens": tokens, "total_tokens": tokens}})
	if f != nil && f.CutStream {
		out = out[:len(out)/2]
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

// parseEmbed validates an embeddings body: model, 1..2048 non-empty string inputs,
// dimensions between 1 and the native size, encoding float or base64.
func (o *OpenAI) parseEmbed(body []byte) (*oaiEmbedBody, []string, *oaiBad) {
	if err := oaiCheckFields(body, openAIEmbedFields); err != nil {
		return nil, nil, err
	}
	var req oaiEmbedBody
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, nil, &oaiBad{msg: "We could not parse the JSON body of your request: " + err.Error()}
	}
	if req.Model == "" {
		return nil, nil, &oaiBad{param: "model", msg: "you must provide a model parameter"}
	}
	inputs, err := oaiEmbedInputs(req.Input)
	if err != nil {
		return nil, nil, err
	}
	if d := req.Dimensions; d != nil && (*d < 1 || *d > o.cfg.dims) {
		return nil, nil, &oaiBad{param: "dimensions", code: "invalid_value",
			msg: fmt.Sprintf("Invalid value for 'dimensions' = %d. Must be between 1 and %d.", *d, o.cfg.dims)}
	}
	if e := req.EncodingFormat; e != "" && e != "float" && e != "base64" {
		return nil, nil, &oaiBad{param: "encoding_format", code: "invalid_value",
			msg: fmt.Sprintf("Invalid value: '%s'. Supported values are: 'float' and 'base64'.", e)}
	}
	return &req, inputs, nil
}

func oaiEmbedInputs(raw json.RawMessage) ([]string, *oaiBad) {
	invalid := &oaiBad{param: "input", msg: "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference."}
	if len(raw) == 0 || string(raw) == "null" {
		return nil, &oaiBad{param: "input", code: "missing_required_parameter", msg: "'input' is a required property"}
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		if one == "" {
			return nil, invalid
		}
		return []string{one}, nil
	}
	var many []string
	if json.Unmarshal(raw, &many) != nil || len(many) == 0 || len(many) > OpenAIMaxInputs {
		return nil, invalid
	}
	for _, s := range many {
		if s == "" {
			return nil, invalid
		}
	}
	return many, nil
}

// OpenAIEmbedding is the emulator's vector for text: dims values derived from
// SHA-256(text), normalised to unit length. Tests compare against it.
func OpenAIEmbedding(text string, dims int) []float32 {
	vec := make([]float32, dims)
	var norm float64
	for i := range vec {
		h := sha256.Sum256([]byte(fmt.Sprintf("%d:%s", i, text)))
		v := float64(binary.LittleEndian.Uint32(h[:4]))/math.MaxUint32*2 - 1
		vec[i] = float32(v)
		norm += v * v
	}
	norm = math.Sqrt(norm)
	for i := range vec {
		vec[i] = float32(float64(vec[i]) / norm)
	}
	return vec
}

// oaiBase64Floats is the base64 encoding_format: little-endian float32s.
func oaiBase64Floats(vec []float32) string {
	buf := make([]byte, 4*len(vec))
	for i, v := range vec {
		binary.LittleEndian.PutUint32(buf[i*4:], math.Float32bits(v))
	}
	return base64.StdEncoding.EncodeToString(buf)
}
