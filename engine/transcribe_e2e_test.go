package engine_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers/wiretest"
)

// transcribeFlow transcribes a file read with blob(); the verbs fill model, file and
// extra inputs.
const transcribeFlow = `aiflow: 1
name: talk
vars:
  cf_api: { type: string }
providers:
  cf:
    kind: workers-ai
    account_id: ${ env("CLOUDFLARE_ACCOUNT_ID") }
    api_token: ${ env("CLOUDFLARE_API_TOKEN") }
    base_url: ${ vars.cf_api }
steps:
  listen:
    uses: transcribe
    model: cf:%s
    with:
      audio: ${ blob("%s") }
%s
outputs:
  text: ${ steps.listen.output.text }
  words: ${ steps.listen.output.words }
  segments: ${ steps.listen.output.segments }
  vtt: ${ steps.listen.output.vtt }
  pieces: ${ steps.listen.output.pieces }
  duration: ${ steps.listen.output.duration }
  language: ${ steps.listen.output.language }
`

// writeTranscribeFlow writes the flow and the audio files into a fresh directory.
func writeTranscribeFlow(t *testing.T, dir, model, file, extra string) string {
	t.Helper()
	path := filepath.Join(dir, "talk.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(transcribeFlow, model, file, extra)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// talkTones is a 16 kHz recording of twelve "words" (tones) between pauses, with the
// time each starts.
func talkTones() ([]byte, []wiretest.Tone, []float64) {
	var tones []wiretest.Tone
	var starts []float64
	at := 0.0
	for i := 0; i < 12; i++ {
		tn := wiretest.Tone{Gap: 0.5 + 0.1*float64(i%4), Seconds: 0.6, Hz: 300 + 100*i}
		at += tn.Gap
		starts = append(starts, at)
		at += tn.Seconds
		tones = append(tones, tn)
	}
	return wiretest.ToneWAV(16000, tones, 0.5), tones, starts
}

// TestTranscribeSplitsLongWAV: a recording longer than max_seconds is cut into pieces at
// its pauses, each piece a WAV of its own under the model's request size; the pieces'
// words come back in order with times on the original timeline (every word's start
// within 0.1 s of where the tone was put), whichever answer shape the model has
// (whisper's words and vtt, whisper-large-v3-turbo's segments); the whole recording is
// priced per audio minute once.
func TestTranscribeSplitsLongWAV(t *testing.T) {
	wav, tones, starts := talkTones()
	seconds := float64(len(wav)-44) / 32000
	for _, tc := range []struct {
		model, extra string
		neurons      float64
	}{
		{"@cf/openai/whisper", "      max_seconds: 4", 41.14},
		{"@cf/openai/whisper-large-v3-turbo", "      max_seconds: 4\n      language: de\n      parallel: 2", 46.63},
	} {
		t.Run(tc.model, func(t *testing.T) {
			cf := wiretest.NewCloudflare(t)
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "talk.wav"), wav, 0o644); err != nil {
				t.Fatal(err)
			}
			fl := fileFlow(t, writeTranscribeFlow(t, dir, tc.model, "talk.wav", tc.extra), cfEnv(cf))
			res := e2eRun(t, fl, dir, engine.RunOptions{Vars: map[string]any{"cf_api": cf.APIBase()}})
			words, _ := res.Outputs["words"].([]any)
			segs, _ := res.Outputs["segments"].([]any)
			if len(words) != len(tones) && len(segs) != len(tones) {
				t.Fatalf("%d words, %d segments, want %d: %v", len(words), len(segs), len(tones), res.Outputs["text"])
			}
			var got []string
			for i, s := range segs {
				seg := s.(map[string]any)
				if want := fmt.Sprintf("tone%d", tones[i].Hz); seg["text"] != want {
					t.Errorf("segment %d = %v, want %s", i, seg["text"], want)
				}
				if st := seg["start"].(float64); math.Abs(st-starts[i]) > 0.1 {
					t.Errorf("segment %d (%v) starts at %v, want %v", i, seg["text"], st, starts[i])
				}
				got = append(got, seg["text"].(string))
			}
			if text := res.Outputs["text"]; text != strings.Join(got, " ") {
				t.Errorf("text = %q, want the segments in order", text)
			}
			if n := asNum(res.Outputs["pieces"]); n < 4 {
				t.Errorf("pieces = %d, want the %.1f s recording cut into pieces of at most 4 s", n, seconds)
			}
			if d := res.Outputs["duration"].(float64); math.Abs(d-seconds) > 0.001 {
				t.Errorf("duration = %v, want %v", d, seconds)
			}
			vtt := res.Outputs["vtt"].(string)
			if !strings.HasPrefix(vtt, "WEBVTT\n") || strings.Count(vtt, " --> ") != len(segs) {
				t.Errorf("vtt = %q", vtt)
			}
			sent := sentInputs(t, cf, tc.model)
			if len(sent) != asNum(res.Outputs["pieces"]) {
				t.Errorf("%d requests for %v pieces", len(sent), res.Outputs["pieces"])
			}
			total := 0
			for _, in := range sent {
				var audio []byte
				switch a := in["audio"].(type) {
				case []any:
					for _, x := range a {
						audio = append(audio, byte(x.(float64)))
					}
				case string:
					audio, _ = base64.StdEncoding.DecodeString(a)
					if in["language"] != "de" {
						t.Errorf("turbo request without language: %v", in["language"])
					}
				}
				if string(audio[:4]) != "RIFF" || len(audio)-44 > 4*32000 {
					t.Errorf("piece of %d bytes is not a WAV of at most 4 s", len(audio))
				}
				total += len(audio) - 44
			}
			if total != len(wav)-44 {
				t.Errorf("pieces carry %d audio bytes, the recording %d", total, len(wav)-44)
			}
			if got, want := res.Steps[0].Usage.Neurons, seconds/60*tc.neurons; math.Abs(got-want) > 1e-6 {
				t.Errorf("usage = %v neurons, want %v", got, want)
			}
		})
	}
}

// TestTranscribeRefusesBadAudio: an image, an empty file and bytes of no known type are
// refused before any request, naming the step and the field, as is a computed input out
// of range (literal ones are validate errors, see testdata/invalid/transcribe_options).
func TestTranscribeRefusesBadAudio(t *testing.T) {
	wav, _, _ := talkTones()
	files := map[string][]byte{
		"cat.png":   wiretest.CFImage("x", "a cat", 8, 8),
		"empty.wav": {},
		"noise.bin": {0x00, 0x01, 0x02, 0xfe, 0x80, 0x81},
		"talk.wav":  wav,
	}
	for _, tc := range []struct {
		file, extra, want string
	}{
		{"cat.png", "", `step "listen": with.audio: expected audio (WAV, MP3, FLAC, OGG, M4A, WebM), got image/png`},
		{"empty.wav", "", `talk.yaml:16:14: step "listen": steps.listen.with.audio: ${ blob("empty.wav") }: blob("empty.wav"): the file is empty (0 bytes)`},
		{"noise.bin", "", "with.audio: expected audio (WAV, MP3, FLAC, OGG, M4A, WebM), got application/octet-stream"},
		{"talk.wav", "      parallel: ${ 1 - 1 }", `step "listen": with.parallel: want 1 to 16, got 0`},
	} {
		t.Run(tc.file+tc.extra, func(t *testing.T) {
			cf := wiretest.NewCloudflare(t)
			dir := t.TempDir()
			for name, data := range files {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			fl := fileFlow(t, writeTranscribeFlow(t, dir, "@cf/openai/whisper", tc.file, tc.extra), cfEnv(cf))
			st, err := store.Open(filepath.Join(dir, ".aiflow"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			_, err = fl.Run(context.Background(), engine.RunOptions{Vars: map[string]any{"cf_api": cf.APIBase()}, Store: st, StateDir: filepath.Join(dir, ".aiflow")})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
			if n := cf.Count(); n != 0 {
				t.Errorf("%d requests made", n)
			}
		})
	}
}

// TestPlanPricesAudioMinutes: plan prices a transcription per audio minute from the
// catalogue, estimating the minutes from the file's size (8 kHz 16-bit mono for WAV),
// without a request; whisper-tiny-en, which has no published price, is unpriced.
func TestPlanPricesAudioMinutes(t *testing.T) {
	wav, _, _ := talkTones()
	for _, tc := range []struct {
		model   string
		priced  bool
		neurons float64
	}{
		{"@cf/openai/whisper", true, 41.14},
		{"@cf/openai/whisper-large-v3-turbo", true, 46.63},
		{"@cf/openai/whisper-tiny-en", false, 0},
	} {
		cf := wiretest.NewCloudflare(t)
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "talk.wav"), wav, 0o644); err != nil {
			t.Fatal(err)
		}
		fl := fileFlow(t, writeTranscribeFlow(t, dir, tc.model, "talk.wav", ""), cfEnv(cf))
		p, err := fl.Plan(context.Background(), engine.PlanOptions{Vars: map[string]any{"cf_api": cf.APIBase()}})
		if err != nil {
			t.Fatal(err)
		}
		want := float64(len(wav)) / 16000 / 60 * tc.neurons * 0.011 / 1000
		if p.Total.Priced != tc.priced || math.Abs(p.Total.USD-want) > want*0.001+1e-12 {
			t.Errorf("%s: plan = $%v (priced %v), want $%v (priced %v)", tc.model, p.Total.USD, p.Total.Priced, want, tc.priced)
		}
		if cf.Count() != 0 {
			t.Errorf("plan made %d requests", cf.Count())
		}
	}
}

// asNum reads an integer output, an int in process or a float64 after JSON.
func asNum(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case float64:
		return int(n)
	}
	return -1
}

// TestTranscribeLongAudioExample runs examples/flows/transcribe-long-audio.yaml against
// the emulator: the bundled recording is cut into 4 s pieces at its pauses, whose words
// come back in order, then summarised and translated; a second run takes the transcript
// from the cache and pays for no audio.
func TestTranscribeLongAudioExample(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	fl := fileFlow(t, "../examples/flows/transcribe-long-audio.yaml", cfEnv(cf))
	dir := t.TempDir()
	vars := map[string]any{"cf_api": cf.APIBase()}
	res := e2eRun(t, fl, dir, engine.RunOptions{Vars: vars})
	want := "tone400 tone600 tone500 tone800 tone700 tone900 tone600 tone1000 tone500 tone700 tone800"
	if res.Outputs["transcript"] != want {
		t.Errorf("transcript = %q, want %q", res.Outputs["transcript"], want)
	}
	if n := asNum(res.Outputs["pieces"]); n < 3 {
		t.Errorf("pieces = %d, want the 11.3 s recording in 3 or more pieces of at most 4 s", n)
	}
	if s, _ := res.Outputs["translation"].(string); s == "" {
		t.Errorf("translation = %v", res.Outputs["translation"])
	}
	for _, in := range sentInputs(t, cf, "@cf/openai/whisper-large-v3-turbo") {
		if in["language"] != "en" || in["vad_filter"] != true {
			t.Errorf("request options = language %v, vad_filter %v", in["language"], in["vad_filter"])
		}
	}
	heard := cf.AudioSeconds()
	e2eRun(t, fl, dir, engine.RunOptions{Vars: vars})
	if cf.AudioSeconds() != heard {
		t.Errorf("cached re-run transcribed %.1f s more audio", cf.AudioSeconds()-heard)
	}
}

// TestTranscribeSplitsMP3BySize: MP3 larger than one request is cut at frame headers
// into pieces under the limit; the second piece's times follow the duration the model
// reported for the first, and the output says the timestamps are approximate.
func TestTranscribeSplitsMP3BySize(t *testing.T) {
	frame := append([]byte{0xFF, 0xFB, 0x90, 0x64}, bytes.Repeat([]byte{0x55}, 413)...)
	mp3 := bytes.Repeat(frame, (3<<20)/len(frame)) // 3 MiB: two pieces of at most 2 MiB
	cf := wiretest.NewCloudflare(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "talk.mp3"), mp3, 0o644); err != nil {
		t.Fatal(err)
	}
	path := writeTranscribeFlow(t, dir, "@cf/openai/whisper-large-v3-turbo", "talk.mp3", "")
	if err := os.WriteFile(path, []byte(strings.Replace(string(mustRead(t, path)), "  language: ${ steps.listen.output.language }",
		"  language: ${ steps.listen.output.language }\n  notes: ${ steps.listen.output.notes }", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	fl := fileFlow(t, path, cfEnv(cf))
	res := e2eRun(t, fl, dir, engine.RunOptions{Vars: map[string]any{"cf_api": cf.APIBase()}})
	sent := sentInputs(t, cf, "@cf/openai/whisper-large-v3-turbo")
	if len(sent) != 2 || asNum(res.Outputs["pieces"]) != 2 {
		t.Fatalf("%d requests, %v pieces, want 2", len(sent), res.Outputs["pieces"])
	}
	first, _ := base64.StdEncoding.DecodeString(sent[0]["audio"].(string))
	second, _ := base64.StdEncoding.DecodeString(sent[1]["audio"].(string))
	if len(first) < len(second) { // the pieces run in parallel: the first is the full one
		first, second = second, first
	}
	if len(first) > 2<<20 || second[0] != 0xFF || second[1] != 0xFB || len(first)+len(second) != len(mp3) {
		t.Errorf("pieces of %d and %d bytes, second starting % x", len(first), len(second), second[:2])
	}
	segs := res.Outputs["segments"].([]any)
	if len(segs) != 2 {
		t.Fatalf("segments = %v", segs)
	}
	if st, want := segs[1].(map[string]any)["start"].(float64), ms3(float64(len(first))/16000); st != want {
		t.Errorf("second piece starts at %v, want the first piece's reported duration %v", st, want)
	}
	notes, _ := res.Outputs["notes"].([]any)
	if len(notes) != 1 || !strings.Contains(notes[0].(string), "at MP3 frame boundaries") || !strings.Contains(notes[0].(string), "approximate") {
		t.Errorf("notes = %v", notes)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ms3(sec float64) float64 { return math.Round(sec*1000) / 1000 }

// TestTranscribeResumePaysOnlyMissingPieces: a long recording fails at its fourth piece;
// the resumed run sends only the pieces that were not answered, because each piece's
// transcript is kept as it arrives. Before, a resume (or a step retry) sent every piece
// again and paid for the answered ones twice.
func TestTranscribeResumePaysOnlyMissingPieces(t *testing.T) {
	wav, tones, _ := talkTones()
	const model = "@cf/openai/whisper"
	cf := wiretest.NewCloudflare(t)
	target, err := url.Parse(cf.APIBase())
	if err != nil {
		t.Fatal(err)
	}
	// A proxy in front of the emulator refuses the fourth transcription request once.
	var mu sync.Mutex
	seen, failAt := 0, 4
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen++
		fail := seen == failAt
		mu.Unlock()
		if fail {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"success":false,"errors":[{"code":5006,"message":"AiError: injected"}],"result":null,"messages":[]}`)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	base := srv.URL + strings.TrimPrefix(cf.APIBase(), target.Scheme+"://"+target.Host)

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "talk.wav"), wav, 0o644); err != nil {
		t.Fatal(err)
	}
	fl := fileFlow(t, writeTranscribeFlow(t, dir, model, "talk.wav", "      max_seconds: 4\n      parallel: 1"), cfEnv(cf))
	st, err := store.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	opts := engine.RunOptions{Store: st, StateDir: dir, Vars: map[string]any{"cf_api": base}}
	first, err := fl.Run(context.Background(), opts)
	if err == nil {
		t.Fatal("the first run succeeded although a piece was refused")
	}
	answered := len(sentInputs(t, cf, model))
	if answered != failAt-1 {
		t.Fatalf("%d pieces answered before the failure, want %d (run: %v)", answered, failAt-1, err)
	}
	opts.Resume = first.RunID
	res, err := fl.Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	pieces := asNum(res.Outputs["pieces"])
	if sent := len(sentInputs(t, cf, model)); sent != pieces {
		t.Errorf("%d pieces paid for a recording of %d pieces: the resume sent %d answered pieces again", sent, pieces, sent-pieces)
	}
	if segs, _ := res.Outputs["segments"].([]any); len(segs) != len(tones) {
		t.Errorf("%d segments after the resume, want %d", len(segs), len(tones))
	}
	seconds := float64(len(wav)-44) / 32000
	paidAgain := res.Steps[0].Usage.Neurons
	if all := seconds / 60 * 41.14; paidAgain >= all-1e-9 {
		t.Errorf("the resume reports %v neurons, as much as the whole recording (%v): answered pieces counted as paid again", paidAgain, all)
	}
}
