package local

import (
	"bytes"
	"context"
	"errors"
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
	if m, ok := pickMode(from, to, modes); ok {
		return m, nil
	}
	return "", &providers.Error{Provider: Kind, Model: ModelApertium, Message: missingPair(from, to, modes)}
}

// pickMode finds the installed mode for from → to.
func pickMode(from, to language, modes []string) (string, bool) {
	for _, want := range modeNames(from, to) {
		for _, m := range modes {
			if m == want {
				return m, true
			}
		}
	}
	return "", false
}

// missingPair explains that from → to is not installed: what to install, and what is.
func missingPair(from, to language, modes []string) string {
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
	return msg
}

// ErrApertiumMissing is what ApertiumPairs wraps when the apertium command is not found,
// so callers can say "apertium not installed" rather than report a failure.
var ErrApertiumMissing = errors.New("apertium not installed")

// ApertiumPairs lists the translation modes (language pairs, e.g. eng-spa) that the
// apertium command bin reports with -l, reading datadir (-d) when it is not empty; bin ""
// is "apertium" on PATH. aiflow models and the validate/plan checks use it to say what the
// local translator can do before a run fails on a missing pair.
func ApertiumPairs(ctx context.Context, bin, datadir string) ([]string, error) {
	if bin == "" {
		bin = "apertium"
	}
	a := &apertium{bin: bin, datadir: datadir}
	if _, err := exec.LookPath(bin); err != nil {
		return nil, fmt.Errorf("%w: the apertium command %q was not found (apt-get install apertium apertium-eng-spa)", ErrApertiumMissing, bin)
	}
	en, _ := parseLanguage("en")
	return a.installed(ctx, en, en)
}

// ApertiumPairProblem says why modes (as ApertiumPairs lists them) cannot translate from
// → to (ISO 639-1 or 639-3 codes, optionally with a region), naming the Debian package to
// install and the installed pairs — the message a run would fail with — or "" when they can.
func ApertiumPairProblem(from, to string, modes []string) string {
	f, err := parseLanguage(from)
	if err != nil {
		return "from: " + err.Error()
	}
	t, err := parseLanguage(to)
	if err != nil {
		return "to: " + err.Error()
	}
	if f.code3 == t.code3 && f.variant == t.variant {
		return ""
	}
	if _, ok := pickMode(f, t, modes); ok {
		return ""
	}
	return missingPair(f, t, modes)
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
