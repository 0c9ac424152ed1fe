// Package all registers every built-in step kind; only cmd/aiflow imports it.
package all

import (
	_ "github.com/aiflow/aiflow/steps/agent"
	_ "github.com/aiflow/aiflow/steps/aisearch"
	_ "github.com/aiflow/aiflow/steps/bucketget"
	_ "github.com/aiflow/aiflow/steps/bucketlist"
	_ "github.com/aiflow/aiflow/steps/bucketput"
	_ "github.com/aiflow/aiflow/steps/chunk"
	_ "github.com/aiflow/aiflow/steps/classify"
	_ "github.com/aiflow/aiflow/steps/classifyimage"
	_ "github.com/aiflow/aiflow/steps/embed"
	_ "github.com/aiflow/aiflow/steps/generate"
	_ "github.com/aiflow/aiflow/steps/generateimage"
	_ "github.com/aiflow/aiflow/steps/query"
	_ "github.com/aiflow/aiflow/steps/search"
	_ "github.com/aiflow/aiflow/steps/subflow"
	_ "github.com/aiflow/aiflow/steps/summarize"
	_ "github.com/aiflow/aiflow/steps/tomarkdown"
	_ "github.com/aiflow/aiflow/steps/transcribe"
	_ "github.com/aiflow/aiflow/steps/transform"
	_ "github.com/aiflow/aiflow/steps/translate"
	_ "github.com/aiflow/aiflow/steps/upsert"
)
