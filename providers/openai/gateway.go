package openai

import (
	"fmt"

	"github.com/aiflow/aiflow/providers/transport"
)

// DefaultGatewayBaseURL is AI Gateway's root, before /{account_id}/{gateway_id}.
const DefaultGatewayBaseURL = transport.DefaultGatewayBaseURL

// Gateway endpoints (the path segment after the gateway id).
const (
	endpointOpenAI    = "openai"        // OpenAI through the gateway
	endpointCompat    = "compat"        // unified endpoint, provider/model names
	endpointWorkersAI = "workers-ai/v1" // Workers AI's OpenAI-compatible API through the gateway
)

// endpointKey is openai's own key of the gateway object.
var endpointKey = transport.GatewayKey{Name: "endpoint", Check: checkEndpoint}

// parseGateway decodes the gateway object and its endpoint; nil stays nil.
func parseGateway(v any) (*transport.GatewaySettings, string, error) {
	g, err := transport.ParseGateway(v, endpointKey)
	if g == nil || err != nil {
		return nil, "", err
	}
	return g, g.Extra[endpointKey.Name], nil
}

// checkEndpoint defaults the endpoint to openai and spells workers-ai out in full.
func checkEndpoint(e string) (string, error) {
	switch e {
	case "", endpointOpenAI:
		return endpointOpenAI, nil
	case endpointCompat, endpointWorkersAI:
		return e, nil
	case "workers-ai":
		return endpointWorkersAI, nil
	}
	return "", fmt.Errorf("setting gateway.endpoint: %q is not openai, compat or workers-ai", e)
}

// metaHeaders are the response headers kept in a response's Meta: AI Gateway's and the server's
// request ids and the gateway's cache status.
var metaHeaders = []string{"cf-aig-cache-status", "cf-aig-log-id", "cf-aig-step", "cf-aig-model",
	"cf-aig-provider", "x-request-id", "request-id"}
