package local

import (
	"fmt"
	"strings"

	"github.com/aiflow/aiflow/providers"
)

// Model ids the local provider answers to (EmbedRequest.Model and friends). An empty model
// id picks the task's default.
const (
	ModelHashEmbed = "local/hash-embed" // default embedder
	ModelTextRank  = "local/textrank"   // default summariser
	ModelVADER     = "local/vader"      // default classifier without labels
	ModelZeroShot  = "local/zero-shot"  // default classifier with labels
	ModelApertium  = "local/apertium"   // default translator
)

// Model describes one model of the local provider, for `aiflow models`.
type Model struct {
	ID          string
	Task        providers.Task
	Description string
	Dimensions  int // vector size for embedding models (the default; configurable), else 0
}

// Models lists the local provider's models, defaults first within each task.
func Models() []Model {
	return []Model{
		{ID: ModelHashEmbed, Task: providers.TaskEmbed, Dimensions: defaultDimensions,
			Description: "lexical (not semantic) embeddings: signed feature hashing of words, word bigrams and character 3-5-grams"},
		{ID: ModelTextRank, Task: providers.TaskSummarize,
			Description: "extractive summary: PageRank over a TF-IDF sentence graph, optional focus query"},
		{ID: ModelVADER, Task: providers.TaskClassify,
			Description: "English sentiment (VADER lexicon and rules): POSITIVE, NEGATIVE, NEUTRAL"},
		{ID: ModelZeroShot, Task: providers.TaskClassify,
			Description: "caller-given labels ranked by lexical-embedding similarity (softmax over cosines)"},
		{ID: ModelApertium, Task: providers.TaskTranslate,
			Description: "rule-based translation with the Apertium command line (installed language pairs only)"},
		{ID: ModelMarkdown, Task: providers.TaskToMarkdown,
			Description: "offline documents to Markdown: HTML, plain text and Markdown, text PDFs (no scans, images or office formats)"},
	}
}

// checkModel accepts id when it is empty or one of want, and returns the id to use.
func checkModel(task providers.Task, id string, want ...string) (string, error) {
	if id == "" {
		return want[0], nil
	}
	for _, w := range want {
		if id == w {
			return id, nil
		}
	}
	return "", &providers.Error{Provider: Kind, Model: id, Message: fmt.Sprintf(
		"unknown %s model %q; the local provider offers %s", task, id, strings.Join(modelIDs(task), ", "))}
}

func modelIDs(task providers.Task) []string {
	var ids []string
	for _, m := range Models() {
		if m.Task == task {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

// badRequest is a non-retryable error about the caller's input.
func badRequest(model, format string, args ...any) error {
	return &providers.Error{Provider: Kind, Model: model, Message: fmt.Sprintf(format, args...)}
}

// modelIDsByTask lists the model ids per task, for providers.Info.Models.
func modelIDsByTask() map[providers.Task][]string {
	out := map[providers.Task][]string{}
	for _, m := range Models() {
		out[m.Task] = append(out[m.Task], m.ID)
	}
	return out
}
