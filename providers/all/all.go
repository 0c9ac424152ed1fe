// Package all registers every built-in provider and vector-index backend; only cmd/aiflow
// (and tests that want the full catalogue) import it.
package all

import (
	_ "github.com/aiflow/aiflow/providers/aigateway"
	_ "github.com/aiflow/aiflow/providers/aisearch"
	_ "github.com/aiflow/aiflow/providers/anthropic"
	_ "github.com/aiflow/aiflow/providers/d1"
	_ "github.com/aiflow/aiflow/providers/local"
	_ "github.com/aiflow/aiflow/providers/localbucket"
	_ "github.com/aiflow/aiflow/providers/localindex"
	_ "github.com/aiflow/aiflow/providers/openai"
	_ "github.com/aiflow/aiflow/providers/r2"
	_ "github.com/aiflow/aiflow/providers/sqlitedb"
	_ "github.com/aiflow/aiflow/providers/vectorize"
	_ "github.com/aiflow/aiflow/providers/workersai"
)
