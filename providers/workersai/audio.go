package workersai

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/catalog"
)

// whisperFamily is the request shape of a speech recognition model, from its published
// schema (cloudflare-docs src/content/workers-ai-models/<model>.json).
type whisperFamily struct {
	// b64: {audio: base64 string, language, initial_prompt, vad_filter, task, prefix}
	// (whisper-large-v3-turbo); otherwise {audio: [0–255 numbers]} (whisper, tiny-en).
	b64 bool
	// limit is the most audio bytes aiflow sends in one request: the number array costs
	// about 3.6 bytes of JSON per audio byte, base64 1.33, and both sit in memory while
	// a request is sent.
	limit int64
}

var (
	whisperArray = whisperFamily{limit: 1 << 20}
	whisperTurbo = whisperFamily{b64: true, limit: 2 << 20}
)

var whisperModels = map[string]whisperFamily{
	"@cf/openai/whisper":                whisperArray,
	"@cf/openai/whisper-tiny-en":        whisperArray,
	"@cf/openai/whisper-large-v3-turbo": whisperTurbo,
}

func whisperOf(model string) whisperFamily {
	if f, ok := whisperModels[model]; ok {
		return f
	}
	if strings.Contains(model, "turbo") {
		return whisperTurbo
	}
	return whisperArray
}

// AudioLimit is the most audio bytes one Transcribe request for model carries.
func (p *Provider) AudioLimit(model string) int64 { return whisperOf(model).limit }

// Transcribe runs a Whisper model on one piece of audio. whisper and whisper-tiny-en
// answer {text, word_count, words, vtt}; whisper-large-v3-turbo {transcription_info,
// text, word_count, segments, vtt}. Segments missing from the answer are read from its
// WebVTT.
func (p *Provider) Transcribe(ctx context.Context, req providers.TranscribeRequest) (providers.TranscribeResponse, error) {
	if err := checkModel(req.Model); err != nil {
		return providers.TranscribeResponse{}, err
	}
	fam := whisperOf(req.Model)
	body, err := whisperBody(fam, req)
	if err != nil {
		return providers.TranscribeResponse{}, invalid(req.Model, err.Error())
	}
	var res whisperAnswer
	meta, err := p.run(ctx, call{task: providers.TaskTranscribe, model: req.Model, body: body, gw: req.Gateway}, &res)
	if err != nil {
		return providers.TranscribeResponse{}, err
	}
	if res.Text == nil {
		return providers.TranscribeResponse{}, invalid(req.Model, "answer has no text")
	}
	out := res.response()
	out.Meta = meta
	out.Usage = audioUsage(Kind, req.Model, req.Seconds, out)
	return out, nil
}

// whisperBody builds the request; only whisper-large-v3-turbo takes options.
func whisperBody(fam whisperFamily, req providers.TranscribeRequest) (json.RawMessage, error) {
	switch {
	case len(req.Audio) == 0:
		return nil, fmt.Errorf("audio is empty")
	case int64(len(req.Audio)) > fam.limit:
		return nil, fmt.Errorf("audio has %d bytes; one request takes at most %d (the transcribe step splits longer audio)", len(req.Audio), fam.limit)
	}
	var b bytes.Buffer
	if !fam.b64 {
		for name, set := range map[string]bool{"language": req.Language != "", "initial_prompt": req.Prompt != "", "vad_filter": req.VAD} {
			if set {
				return nil, fmt.Errorf("%s is not an input of this model (it takes only audio; whisper-large-v3-turbo takes language, initial_prompt and vad_filter)", name)
			}
		}
		b.Grow(len(req.Audio)*4 + 16)
		b.WriteString(`{"audio":[`)
		var num [4]byte
		for i, x := range req.Audio {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(strconv.AppendUint(num[:0], uint64(x), 10))
		}
		b.WriteString("]}")
		return b.Bytes(), nil
	}
	b.Grow(base64.StdEncoding.EncodedLen(len(req.Audio)) + 256)
	b.WriteString(`{"audio":"`)
	enc := base64.NewEncoder(base64.StdEncoding, &b)
	enc.Write(req.Audio)
	enc.Close()
	b.WriteByte('"')
	for _, kv := range []struct {
		key string
		val any
	}{{"language", req.Language}, {"initial_prompt", req.Prompt}} {
		if s, _ := kv.val.(string); s != "" {
			v, _ := json.Marshal(s)
			fmt.Fprintf(&b, `,"%s":%s`, kv.key, v)
		}
	}
	if req.VAD {
		b.WriteString(`,"vad_filter":true`)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// whisperAnswer is the union of the published output schemas.
type whisperAnswer struct {
	Text      *string            `json:"text"`
	WordCount float64            `json:"word_count"`
	Words     []providers.Word   `json:"words"`
	VTT       string             `json:"vtt"`
	Segments  []whisperSegment   `json:"segments"`
	Info      *whisperTranscript `json:"transcription_info"`
}

type whisperSegment struct {
	Start float64          `json:"start"`
	End   float64          `json:"end"`
	Text  string           `json:"text"`
	Words []providers.Word `json:"words"`
}

type whisperTranscript struct {
	Language string  `json:"language"`
	Duration float64 `json:"duration"`
}

func (a whisperAnswer) response() providers.TranscribeResponse {
	out := providers.TranscribeResponse{Text: strings.TrimSpace(*a.Text), VTT: a.VTT, Words: a.Words}
	for _, s := range a.Segments {
		out.Segments = append(out.Segments, providers.Segment{Start: s.Start, End: s.End, Text: strings.TrimSpace(s.Text)})
		if len(a.Words) == 0 {
			out.Words = append(out.Words, s.Words...)
		}
	}
	if len(out.Segments) == 0 {
		out.Segments = providers.ParseVTT(a.VTT)
	}
	if a.Info != nil {
		out.Language, out.Duration = a.Info.Language, a.Info.Duration
	}
	return out
}

// audioUsage prices one request per audio minute: the duration the caller measured, else
// the one the model reports, else the end of the last word or segment.
func audioUsage(kind, model string, seconds float64, r providers.TranscribeResponse) providers.Usage {
	u := providers.Usage{Requests: 1}
	if seconds <= 0 {
		seconds = r.Duration
	}
	if seconds <= 0 {
		seconds = r.End()
	}
	m, ok := catalog.Lookup(kind, model)
	if !ok {
		return u
	}
	u.USD, u.Neurons, _ = m.AudioCost(seconds)
	return u
}
