package workersai_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/wiretest"
)

// TestTranscribeShapes: whisper gets the audio as the published array of 0–255 numbers
// and answers words and vtt, whose cues become segments; whisper-large-v3-turbo gets
// base64 with its options and answers segments and transcription_info; both requests
// pass the published input schemas and both answers the output schemas. Options a model
// does not take and audio over the request limit are refused before any request.
func TestTranscribeShapes(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	p := open(t, cf, nil)
	wav := wiretest.ToneWAV(16000, []wiretest.Tone{{Gap: 0.5, Seconds: 0.6, Hz: 400}, {Gap: 0.7, Seconds: 0.6, Hz: 700}}, 0.3)
	for _, tc := range []struct {
		model    string
		req      providers.TranscribeRequest
		words    int
		language string
	}{
		{"@cf/openai/whisper", providers.TranscribeRequest{}, 2, ""},
		{"@cf/openai/whisper-tiny-en", providers.TranscribeRequest{}, 2, ""},
		{"@cf/openai/whisper-large-v3-turbo", providers.TranscribeRequest{Language: "fr", Prompt: "Tones.", VAD: true}, 2, "fr"},
	} {
		t.Run(tc.model, func(t *testing.T) {
			req := tc.req
			req.Model, req.Audio, req.MediaType = tc.model, wav, "audio/wav"
			resp, err := p.Transcribe(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Text != "tone400 tone700" || len(resp.Words) != tc.words || len(resp.Segments) != 2 || resp.Language != tc.language {
				t.Fatalf("answer = %+v", resp)
			}
			if s := resp.Segments[1]; s.Text != "tone700" || math.Abs(s.Start-1.8) > 0.1 {
				t.Errorf("segment = %+v, want tone700 from 1.8 s", s)
			}
			if !strings.HasPrefix(resp.VTT, "WEBVTT") || resp.Usage.Requests != 1 {
				t.Errorf("vtt %q, usage %+v", resp.VTT, resp.Usage)
			}
		})
	}
	if c := cf.Conformance(); c.Checked < 3 || len(c.Rejected) > 0 || c.Answers < 3 || len(c.Bad) > 0 {
		t.Errorf("published schemas: %d requests checked, rejected %v; %d answers checked, refused %v", c.Checked, c.Rejected, c.Answers, c.Bad)
	}
	n := cf.Count()
	for _, tc := range []struct {
		req  providers.TranscribeRequest
		want string
	}{
		{providers.TranscribeRequest{Model: "@cf/openai/whisper", Audio: wav, Language: "en"}, "language is not an input of this model"},
		{providers.TranscribeRequest{Model: "@cf/openai/whisper-tiny-en", Audio: wav, VAD: true}, "vad_filter is not an input of this model"},
		{providers.TranscribeRequest{Model: "@cf/openai/whisper", Audio: make([]byte, p.AudioLimit("@cf/openai/whisper")+1)}, "one request takes at most 1048576"},
		{providers.TranscribeRequest{Model: "@cf/openai/whisper-large-v3-turbo"}, "audio is empty"},
	} {
		if _, err := p.Transcribe(context.Background(), tc.req); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error = %v, want %q", tc.req.Model, err, tc.want)
		}
	}
	if cf.Count() != n {
		t.Errorf("refused requests were sent")
	}
}
