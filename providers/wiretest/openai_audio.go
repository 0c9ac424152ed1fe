package wiretest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
)

// OpenAI's /audio/transcriptions takes multipart/form-data: file (required), model
// (required), language, prompt, response_format (json, text, srt, verbose_json, vtt) and
// timestamp_granularities[] (word, segment; verbose_json only). verbose_json answers
// {task, language, duration, text, segments: [{id, seek, start, end, text, tokens,
// temperature, avg_logprob, compression_ratio, no_speech_prob}], words: [{word, start,
// end}], usage: {type: "duration", seconds}}; json answers {text, usage}. The gpt-4o
// transcribe models take json only. The emulator hears WAV as the Cloudflare one does
// (HearWAV).

// transcription is the parsed form of a transcription request.
type transcription struct {
	model, format, language, prompt string
	granularities                   []string
	file                            []byte
	fileType                        string
}

func parseTranscription(r *http.Request, body []byte) (transcription, error) {
	var t transcription
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return t, fmt.Errorf("Content-Type must be multipart/form-data, got %q", r.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	haveFile := false
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return t, fmt.Errorf("malformed multipart body: %v", err)
		}
		data, _ := io.ReadAll(part)
		switch part.FormName() {
		case "file":
			t.file, t.fileType, haveFile = data, part.Header.Get("Content-Type"), true
			if part.FileName() == "" {
				return t, errors.New("file must be a file upload with a filename")
			}
		case "model":
			t.model = string(data)
		case "response_format":
			t.format = string(data)
		case "language":
			t.language = string(data)
		case "prompt":
			t.prompt = string(data)
		case "timestamp_granularities[]", "timestamp_granularities":
			t.granularities = append(t.granularities, string(data))
		}
	}
	switch {
	case !haveFile || len(t.file) == 0:
		return t, errors.New("you must provide a file")
	case t.model == "":
		return t, errors.New("you must provide a model parameter")
	}
	if t.format == "" {
		t.format = "json"
	}
	if strings.HasPrefix(t.model, "gpt-4o") && t.format != "json" {
		return t, fmt.Errorf("response_format '%s' is not compatible with model '%s'. Use 'json' instead", t.format, t.model)
	}
	if len(t.granularities) > 0 && t.format != "verbose_json" {
		return t, errors.New("timestamp_granularities requires response_format=verbose_json")
	}
	return t, nil
}

// transcriptions answers POST /audio/transcriptions.
func (o *OpenAI) transcriptions(w http.ResponseWriter, r *http.Request, body []byte) {
	t, err := parseTranscription(r, body)
	if err != nil {
		o.fail.bad(w, &oaiBad{msg: err.Error()})
		return
	}
	words, duration, err := HearWAV(t.file)
	if err != nil {
		words, duration = []CFWord{{Word: fmt.Sprintf("audio%dbytes", len(t.file)), End: 1}}, float64(len(t.file))/16000
	}
	var text []string
	for _, wd := range words {
		text = append(text, wd.Word)
	}
	out := map[string]any{"text": strings.Join(text, " ")}
	if t.format == "verbose_json" {
		segs := []map[string]any{}
		for i, wd := range words {
			segs = append(segs, map[string]any{"id": i, "seek": 0, "start": wd.Start, "end": wd.End, "text": " " + wd.Word,
				"tokens": []int{50364 + i}, "temperature": 0.0, "avg_logprob": -0.2, "compression_ratio": 1.1, "no_speech_prob": 0.01})
		}
		out["task"], out["language"], out["duration"], out["segments"] = "transcribe", "english", duration, segs
		if t.language != "" {
			out["language"] = t.language
		}
		if contains(t.granularities, "word") {
			list := []map[string]any{}
			for _, wd := range words {
				list = append(list, map[string]any{"word": wd.Word, "start": wd.Start, "end": wd.End})
			}
			out["words"] = list
		}
		out["usage"] = map[string]any{"type": "duration", "seconds": int(duration + 0.999)}
	} else {
		out["usage"] = map[string]any{"type": "tokens", "input_tokens": 10, "output_tokens": len(words), "total_tokens": 10 + len(words)}
	}
	b, _ := json.Marshal(out)
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
