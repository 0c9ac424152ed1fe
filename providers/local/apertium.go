package local

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aiflow/aiflow/providers"
)

// Translation with Apertium (local/apertium), a rule-based (shallow-transfer) machine
// translation system, run through its command line: `apertium -u -f txt <mode>` with the text
// on stdin. ISO 639-1 codes are mapped to Apertium's ISO 639-3 mode names ("en"→"eng"), and a
// region picks a variant mode ("en-US" → "spa-eng_US" when installed). Installed modes are
// discovered once per provider with `apertium -l`.
//
// Unknown words: -u stops Apertium from marking words it does not know with '*' (its
// generator runs as lt-proc -n, "generation without unknown word marks"). A '#'
// (generation error) or '@' (no bilingual entry) mark still found at the start of a word is
// removed afterwards, unless that character occurs in the input, so hashtags, @mentions and
// Markdown headings survive. Unknown words come back unmarked and untranslated.
//
// The whole Apertium pipeline runs in its own process group and is killed when ctx ends.

// apertium runs the apertium command. It is safe for concurrent use.
type apertium struct {
	bin     string // command name or path
	datadir string // -d directory, optional

	mu    sync.Mutex
	modes []string // discovered modes; nil until a discovery succeeds
}

const (
	apertiumWaitDelay = 2 * time.Second
	maxStderr         = 400
)

// Translate translates req.Text from req.From to req.To with Apertium (local/apertium).
func (p *Provider) Translate(ctx context.Context, req providers.TranslateRequest) (providers.TranslateResponse, error) {
	model, err := checkModel(providers.TaskTranslate, req.Model, ModelApertium)
	if err != nil {
		return providers.TranslateResponse{}, err
	}
	from, err := parseLanguage(req.From)
	if err != nil {
		return providers.TranslateResponse{}, badRequest(model, "from: %v", err)
	}
	to, err := parseLanguage(req.To)
	if err != nil {
		return providers.TranslateResponse{}, badRequest(model, "to: %v", err)
	}
	if strings.TrimSpace(req.Text) == "" || from.code3 == to.code3 && from.variant == to.variant {
		return providers.TranslateResponse{Text: req.Text, Usage: usage(req.Text, req.Text), Meta: providers.Meta{"model": model}}, nil
	}
	mode, err := p.apertium.mode(ctx, from, to)
	if err != nil {
		return providers.TranslateResponse{}, err
	}
	out, err := p.apertium.run(ctx, mode, req.Text)
	if err != nil {
		return providers.TranslateResponse{}, err
	}
	return providers.TranslateResponse{Text: out, Usage: usage(req.Text, out), Meta: providers.Meta{"model": model, "apertium_mode": mode}}, nil
}

// mode picks the installed mode for from → to, or explains what to install.
func (a *apertium) mode(ctx context.Context, from, to language) (string, error) {
	modes, err := a.installed(ctx, from, to)
	if err != nil {
		return "", err
	}
	for _, want := range modeNames(from, to) {
		for _, m := range modes {
			if m == want {
				return m, nil
			}
		}
	}
	pkg, known := debianPackage(from.code3, to.code3)
	msg := fmt.Sprintf("Apertium has no %s-%s mode installed", from.code3, to.code3)
	if known {
		msg += fmt.Sprintf("; install the Debian package %s (apt-get install %s)", pkg, pkg)
	} else {
		msg += fmt.Sprintf("; Debian has no known package for this pair (look for one with `apt-cache search apertium`, named like %s)", pkg)
	}
	if len(modes) == 0 {
		msg += "; no pairs are installed"
	} else {
		msg += "; installed: " + strings.Join(modes, ", ")
	}
	return "", &providers.Error{Provider: Kind, Model: ModelApertium, Message: msg}
}

// installed lists the modes `apertium -l` reports, caching the first successful answer.
func (a *apertium) installed(ctx context.Context, from, to language) ([]string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.modes != nil {
		return a.modes, nil
	}
	if _, err := exec.LookPath(a.bin); err != nil {
		pkg, _ := debianPackage(from.code3, to.code3)
		return nil, &providers.Error{Provider: Kind, Model: ModelApertium, Err: err, Message: fmt.Sprintf(
			"the apertium command %q was not found; install it with apt-get install apertium %s", a.bin, pkg)}
	}
	out, err := a.exec(ctx, a.args("-l"), "")
	if err != nil {
		return nil, err
	}
	modes := []string{}
	for _, line := range strings.Split(out, "\n") {
		if m := strings.TrimSpace(line); m != "" {
			modes = append(modes, m)
		}
	}
	a.modes = modes
	return modes, nil
}

// run translates text with mode and strips unknown-word markers.
func (a *apertium) run(ctx context.Context, mode, text string) (string, error) {
	out, err := a.exec(ctx, a.args("-u", "-f", "txt", mode), text)
	if err != nil {
		return "", err
	}
	return stripMarkers(out, text), nil
}

func (a *apertium) args(rest ...string) []string {
	if a.datadir == "" {
		return rest
	}
	return append([]string{"-d", a.datadir}, rest...)
}

// exec runs apertium with args and stdin, killing its process group when ctx ends.
func (a *apertium) exec(ctx context.Context, args []string, stdin string) (string, error) {
	cmd := exec.CommandContext(ctx, a.bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = apertiumWaitDelay
	ownProcessGroup(cmd)
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("running apertium %s: %w", strings.Join(args, " "), ctx.Err())
		}
		return "", &providers.Error{Provider: Kind, Model: ModelApertium, Err: err, Message: fmt.Sprintf(
			"running apertium %s: %v: %s", strings.Join(args, " "), err, clip(stderr.String()))}
	}
	return stdout.String(), nil
}

func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxStderr {
		return s[:maxStderr] + "…"
	}
	return s
}

// markers match Apertium's generation-error ('#') and untranslated ('@') marks at the start
// of a word.
var markers = map[rune]*regexp.Regexp{
	'#': regexp.MustCompile(`(^|[\s(\[{"'¿¡«“‘])#+([\pL\pN])`),
	'@': regexp.MustCompile(`(^|[\s(\[{"'¿¡«“‘])@+([\pL\pN])`),
}

// stripMarkers removes marks from out that cannot have come from the input in.
func stripMarkers(out, in string) string {
	for _, c := range []rune{'#', '@'} {
		if !strings.ContainsRune(in, c) {
			out = markers[c].ReplaceAllString(out, "$1$2")
		}
	}
	return out
}
