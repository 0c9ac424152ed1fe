package main

import (
	_ "github.com/anthropics/anthropic-sdk-go"
	_ "github.com/cloudflare/cloudflare-go/v6"
	_ "github.com/cloudflare/cloudflare-go/v6/vectorize"
	_ "github.com/cloudflare/cloudflare-go/v6/d1"
	_ "github.com/cloudflare/cloudflare-go/v6/ai_gateway"
	_ "github.com/expr-lang/expr"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/hashicorp/go-retryablehttp"
	_ "github.com/jonreiter/govader"
	_ "github.com/modelcontextprotocol/go-sdk/mcp"
	_ "github.com/openai/openai-go/v3"
	_ "github.com/santhosh-tekuri/jsonschema/v6"
	_ "github.com/tiktoken-go/tokenizer"
	_ "github.com/viterin/vek/vek32"
	_ "golang.org/x/time/rate"
	_ "gopkg.in/yaml.v3"
	_ "modernc.org/sqlite"
)

func main() {}
