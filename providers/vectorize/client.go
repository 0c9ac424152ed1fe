package vectorize

import (
	"bytes"
	"context"
	"errors"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/cloudflare/cloudflare-go/v6/option"
	cfv "github.com/cloudflare/cloudflare-go/v6/vectorize"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/transport"
)

// client calls one account's Vectorize API through the generated SDK. The SDK's own
// retries are off: providers/transport retries, rate-limits, classifies and redacts.
//
// Two calls adjust what the SDK sends. Upload bodies are replaced (option.WithRequestBody)
// by a multipart form whose file part is named "vectors", as wrangler and Cloudflare's
// examples send it; the generated IndexUpsertParams names its part "" instead. The query
// namespace, which the generated IndexQueryParams lacks, is added with option.WithJSONSet.
type client struct {
	svc     *cfv.IndexService
	account string
}

func newClient(a account, httpc *http.Client) *client {
	return &client{account: a.id, svc: cfv.NewIndexService(
		option.WithHTTPClient(httpc),
		option.WithMaxRetries(0),
		option.WithBaseURL(a.baseURL),
		option.WithAPIToken(a.token),
	)}
}

// cause unwraps the *providers.Error that net/http wraps in a *url.Error.
func cause(err error) error { return transport.Cause(err) }

// isNotFound reports a missing index: code 3000 "vectorize.index.not_found" (observed
// with HTTP 404 and 400).
func isNotFound(err error) bool {
	var pe *providers.Error
	return errors.As(err, &pe) && (pe.Code == "3000" || strings.Contains(pe.Message, "vectorize.index.not_found"))
}

// indexConfig is an index's immutable configuration.
type indexConfig struct {
	dims   int
	metric string
}

func (c *client) get(ctx context.Context, name string) (indexConfig, error) {
	var p cfv.IndexGetParams
	p.AccountID.Value = c.account
	res, err := c.svc.Get(ctx, name, p)
	if err != nil {
		return indexConfig{}, cause(err)
	}
	return indexConfig{dims: int(res.Config.Dimensions), metric: string(res.Config.Metric)}, nil
}

func (c *client) create(ctx context.Context, name, description string, cfg indexConfig) error {
	var conf cfv.IndexDimensionConfigurationParam
	conf.Dimensions.Value, conf.Dimensions.Present = int64(cfg.dims), true
	conf.Metric.Value, conf.Metric.Present = cfv.IndexDimensionConfigurationMetric(cfg.metric), true
	var p cfv.IndexNewParams
	p.AccountID.Value = c.account
	p.Name.Value, p.Name.Present = name, true
	p.Config.Value, p.Config.Present = conf, true
	if description != "" {
		p.Description.Value, p.Description.Present = description, true
	}
	_, err := c.svc.New(ctx, p)
	return cause(err)
}

func (c *client) delete(ctx context.Context, name string) error {
	var p cfv.IndexDeleteParams
	p.AccountID.Value = c.account
	_, err := c.svc.Delete(ctx, name, p)
	return cause(err)
}

// infoResult is GET …/info.
type infoResult struct {
	dims      int
	count     int
	processed string // processedUpToMutation
}

func (c *client) info(ctx context.Context, name string) (infoResult, error) {
	var p cfv.IndexInfoParams
	p.AccountID.Value = c.account
	res, err := c.svc.Info(ctx, name, p)
	if err != nil {
		return infoResult{}, cause(err)
	}
	return infoResult{dims: int(res.Dimensions), count: int(res.VectorCount), processed: res.ProcessedUpToMutation}, nil
}

func (c *client) listMeta(ctx context.Context, name string) (map[string]string, error) {
	var p cfv.IndexMetadataIndexListParams
	p.AccountID.Value = c.account
	res, err := c.svc.MetadataIndex.List(ctx, name, p)
	if err != nil {
		return nil, cause(err)
	}
	out := make(map[string]string, len(res.MetadataIndexes))
	for _, m := range res.MetadataIndexes {
		out[m.PropertyName] = string(m.IndexType)
	}
	return out, nil
}

func (c *client) createMeta(ctx context.Context, name, prop, typ string) (string, error) {
	var p cfv.IndexMetadataIndexNewParams
	p.AccountID.Value = c.account
	p.PropertyName.Value, p.PropertyName.Present = prop, true
	p.IndexType.Value, p.IndexType.Present = cfv.IndexMetadataIndexNewParamsIndexType(typ), true
	res, err := c.svc.MetadataIndex.New(ctx, name, p)
	if err != nil {
		return "", cause(err)
	}
	return res.MutationID, nil
}

// upsert uploads one NDJSON body as the multipart "vectors" file part.
func (c *client) upsert(ctx context.Context, name string, ndjson []byte) (string, error) {
	body, contentType, err := multipartVectors(ndjson)
	if err != nil {
		return "", err
	}
	p := cfv.IndexUpsertParams{Body: bytes.NewReader(nil)}
	p.AccountID.Value = c.account
	res, err := c.svc.Upsert(ctx, name, p, option.WithRequestBody(contentType, body))
	if err != nil {
		return "", cause(err)
	}
	return res.MutationID, nil
}

// multipartVectors wraps NDJSON in a form with one application/x-ndjson file part named
// "vectors".
func multipartVectors(ndjson []byte) ([]byte, string, error) {
	var buf bytes.Buffer
	buf.Grow(len(ndjson) + 512)
	mw := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="vectors"; filename="vectors.ndjson"`)
	h.Set("Content-Type", "application/x-ndjson")
	part, err := mw.CreatePart(h)
	if err == nil {
		_, err = part.Write(ndjson)
	}
	if err == nil {
		err = mw.Close()
	}
	return buf.Bytes(), mw.FormDataContentType(), err
}

// shortest widens float32 values to the float64 whose decimal form is the float32's
// shortest one (0.7, not 0.699999988079071), so the query JSON stays compact and reads
// back as the same float32.
func shortest(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i], _ = strconv.ParseFloat(strconv.FormatFloat(float64(x), 'g', -1, 32), 64)
	}
	return out
}

// queryRequest is what Query sends.
type queryRequest struct {
	vector    []float32
	topK      int
	values    bool
	metadata  bool // returnMetadata "all" (else "none")
	filter    map[string]any
	namespace string // "" searches every namespace
}

// wireMatch is one match as Vectorize returns it.
type wireMatch struct {
	ID        string         `json:"id"`
	Score     float64        `json:"score"`
	Values    []float32      `json:"values"`
	Metadata  map[string]any `json:"metadata"`
	Namespace string         `json:"namespace"`
}

func (c *client) query(ctx context.Context, name string, q queryRequest) ([]wireMatch, error) {
	var p cfv.IndexQueryParams
	p.AccountID.Value = c.account
	p.Vector.Value, p.Vector.Present = shortest(q.vector), true
	p.TopK.Value, p.TopK.Present = float64(q.topK), true
	p.ReturnValues.Value, p.ReturnValues.Present = q.values, true
	p.ReturnMetadata.Value, p.ReturnMetadata.Present = cfv.IndexQueryParamsReturnMetadataNone, true
	if q.metadata {
		p.ReturnMetadata.Value = cfv.IndexQueryParamsReturnMetadataAll
	}
	if len(q.filter) > 0 {
		p.Filter.Value, p.Filter.Present = q.filter, true
	}
	var env struct {
		Result struct {
			Matches []wireMatch `json:"matches"`
		} `json:"result"`
	}
	opts := []option.RequestOption{option.WithResponseBodyInto(&env)}
	if q.namespace != "" {
		opts = append(opts, option.WithJSONSet("namespace", q.namespace))
	}
	if _, err := c.svc.Query(ctx, name, p, opts...); err != nil {
		return nil, cause(err)
	}
	return env.Result.Matches, nil
}

func (c *client) getByIDs(ctx context.Context, name string, ids []string) ([]wireVector, error) {
	var p cfv.IndexGetByIDsParams
	p.AccountID.Value = c.account
	p.IDs.Value, p.IDs.Present = ids, true
	var env struct {
		Result []wireVector `json:"result"`
	}
	if _, err := c.svc.GetByIDs(ctx, name, p, option.WithResponseBodyInto(&env)); err != nil {
		return nil, cause(err)
	}
	return env.Result, nil
}

func (c *client) deleteByIDs(ctx context.Context, name string, ids []string) (string, error) {
	var p cfv.IndexDeleteByIDsParams
	p.AccountID.Value = c.account
	p.IDs.Value, p.IDs.Present = ids, true
	res, err := c.svc.DeleteByIDs(ctx, name, p)
	if err != nil {
		return "", cause(err)
	}
	return res.MutationID, nil
}
