// Package all registers every built-in step kind; only cmd/aiflow imports it.
package all

import (
	_ "github.com/aiflow/aiflow/steps/chunk"
	_ "github.com/aiflow/aiflow/steps/transform"
)
