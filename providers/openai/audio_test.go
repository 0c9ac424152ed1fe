package openai_test

import (
	"bytes"
	"context"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/wiretest"
)

// TestTranscribe: whisper-1 is asked for verbose_json with word and segment times and
// its answer becomes segments, words, duration and a per-minute price; gpt-4o transcribe
// models get json and give text only; the upload is a multipart file named with the
// audio's extension; vad is refused before a request.
func TestTranscribe(t *testing.T) {
	wav := wiretest.ToneWAV(16000, []wiretest.Tone{{Gap: 0.5, Seconds: 0.6, Hz: 400}, {Gap: 0.7, Seconds: 0.6, Hz: 700}}, 0.3)
	seconds := float64(len(wav)-44) / 32000
	for _, tc := range []struct {
		model            string
		format           string
		words            int
		usdPerMinute     float64
		language, prompt string
	}{
		{"whisper-1", "verbose_json", 2, 0.006, "en", "Tones."},
		{"gpt-4o-mini-transcribe", "json", 0, 0.003, "", ""},
	} {
		t.Run(tc.model, func(t *testing.T) {
			emu := wiretest.NewOpenAI(t)
			p := newProvider(t, emu, nil)
			resp, err := p.Transcribe(context.Background(), providers.TranscribeRequest{Model: tc.model, Audio: wav, MediaType: "audio/wav",
				Seconds: seconds, Language: tc.language, Prompt: tc.prompt})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Text != "tone400 tone700" || len(resp.Words) != tc.words || len(resp.Segments) != tc.words {
				t.Errorf("transcript = %q, %d words, %d segments", resp.Text, len(resp.Words), len(resp.Segments))
			}
			if tc.words > 0 && (math.Abs(resp.Words[1].Start-1.8) > 0.1 || resp.Segments[0].Text != "tone400" || math.Abs(resp.Duration-seconds) > 1e-9) {
				t.Errorf("times = %+v %+v, duration %v", resp.Words, resp.Segments, resp.Duration)
			}
			if want := seconds / 60 * tc.usdPerMinute; math.Abs(resp.Usage.USD-want) > 1e-12 {
				t.Errorf("usd = %v, want %v", resp.Usage.USD, want)
			}
			reqs := emu.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			fields := multipartFields(t, reqs[0].Header.Get("Content-Type"), reqs[0].Body)
			if fields["response_format"] != tc.format || fields["model"] != tc.model || fields["file"] != "audio.wav" ||
				fields["language"] != tc.language || fields["prompt"] != tc.prompt {
				t.Errorf("form = %v", fields)
			}
		})
	}
	emu := wiretest.NewOpenAI(t)
	p := newProvider(t, emu, nil)
	if _, err := p.Transcribe(context.Background(), providers.TranscribeRequest{Model: "whisper-1", Audio: wav, MediaType: "audio/wav", VAD: true}); err == nil ||
		!strings.Contains(err.Error(), "vad is not an option of OpenAI transcriptions") {
		t.Errorf("vad: %v", err)
	}
	if len(emu.Requests()) != 0 {
		t.Errorf("a refused request was sent")
	}
}

// multipartFields reads a form: values, and the file part's filename under "file".
func multipartFields(t *testing.T, contentType string, body []byte) map[string]string {
	t.Helper()
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(part)
		if part.FileName() != "" {
			out[part.FormName()] = part.FileName()
			continue
		}
		out[part.FormName()] += string(data)
	}
}
