package openai

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"

	oai "github.com/openai/openai-go/v3"

	"github.com/aiflow/aiflow/blob"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/catalog"
	"github.com/aiflow/aiflow/providers/internal/sdkprovider"
)

// maxAudioBytes bounds one transcription upload. OpenAI takes files up to 25 MB; aiflow
// sends at most 8 MiB so that a few pieces in flight keep memory small (the transcribe
// step cuts longer audio).
const maxAudioBytes = 8 << 20

// AudioLimit is the most audio bytes one Transcribe request carries.
func (p *Provider) AudioLimit(string) int64 { return maxAudioBytes }

// Transcribe posts one piece of audio to /audio/transcriptions (multipart). whisper-*
// models answer verbose_json with segment and word timestamps; the gpt-4o transcribe
// models only json, so their transcript has text and no times.
func (p *Provider) Transcribe(ctx context.Context, req providers.TranscribeRequest) (providers.TranscribeResponse, error) {
	params, verbose, err := transcribeParams(req)
	if err != nil {
		return providers.TranscribeResponse{}, p.requestError(req.Model, err)
	}
	var httpResp *http.Response
	opts, err := p.requestOptions(req.Gateway, &httpResp)
	if err != nil {
		return providers.TranscribeResponse{}, p.requestError(req.Model, err)
	}
	resp, err := p.audio.New(ctx, params, opts...)
	if err != nil {
		return providers.TranscribeResponse{}, p.wrapError(err, req.Model)
	}
	out := providers.TranscribeResponse{Text: strings.TrimSpace(resp.Text), Language: resp.Language, Duration: resp.Duration}
	if verbose {
		for _, s := range resp.Segments {
			out.Segments = append(out.Segments, providers.Segment{Start: s.Start, End: s.End, Text: strings.TrimSpace(s.Text)})
		}
		for _, w := range resp.Words {
			out.Words = append(out.Words, providers.Word{Start: w.Start, End: w.End, Word: w.Word})
		}
	}
	out.Meta = sdkprovider.ResponseMeta(httpResp, req.Model, metaHeaders)
	out.Usage = providers.Usage{Requests: 1}
	seconds := req.Seconds
	if seconds <= 0 {
		seconds = out.Duration
	}
	if seconds <= 0 {
		seconds = out.End()
	}
	if perMinute, ok := catalog.AudioPrice(Kind, req.Model); ok {
		out.Usage.USD = seconds / 60 * perMinute
	}
	return out, nil
}

// transcribeParams builds the multipart request; vad has no OpenAI counterpart here.
func transcribeParams(req providers.TranscribeRequest) (oai.AudioTranscriptionNewParams, bool, error) {
	var params oai.AudioTranscriptionNewParams
	switch {
	case req.Model == "":
		return params, false, fmt.Errorf("no model given")
	case len(req.Audio) == 0:
		return params, false, fmt.Errorf("audio is empty")
	case len(req.Audio) > maxAudioBytes:
		return params, false, fmt.Errorf("audio has %d bytes; one request takes at most %d (the transcribe step splits longer audio)", len(req.Audio), maxAudioBytes)
	case req.VAD:
		return params, false, fmt.Errorf("vad is not an option of OpenAI transcriptions (it is Workers AI whisper-large-v3-turbo's vad_filter)")
	}
	mt := blob.Base(req.MediaType)
	params.File = oai.File(bytes.NewReader(req.Audio), "audio"+blob.Ext(mt), mt)
	params.Model = oai.AudioModel(req.Model)
	verbose := strings.HasPrefix(req.Model, "whisper")
	if verbose {
		params.ResponseFormat = oai.AudioResponseFormatVerboseJSON
		params.TimestampGranularities = []string{"word", "segment"}
	} else {
		params.ResponseFormat = oai.AudioResponseFormatJSON
	}
	if req.Language != "" {
		params.Language = oai.String(req.Language)
	}
	if req.Prompt != "" {
		params.Prompt = oai.String(req.Prompt)
	}
	return params, verbose, nil
}
