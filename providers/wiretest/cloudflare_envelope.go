package wiretest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// cfErr is one item of an envelope's errors[].
type cfErr struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// cfEnvelope is the §1 response envelope.
type cfEnvelope struct {
	Result   any     `json:"result"`
	Success  bool    `json:"success"`
	Errors   []cfErr `json:"errors"`
	Messages []cfErr `json:"messages"`
}

// cfJSON writes v as JSON with status.
func cfJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// cfOK writes a successful envelope around result.
func cfOK(w http.ResponseWriter, result any) {
	cfJSON(w, http.StatusOK, cfEnvelope{Result: result, Success: true, Errors: []cfErr{}, Messages: []cfErr{}})
}

// cfError writes a failed envelope.
func cfError(w http.ResponseWriter, status int, errs ...cfErr) {
	cfJSON(w, status, cfEnvelope{Success: false, Errors: errs, Messages: []cfErr{}})
}

// cfNoRoute writes the 404 routing error (7003 plus 7000).
func cfNoRoute(w http.ResponseWriter, path string) {
	cfError(w, http.StatusNotFound,
		cfErr{7003, fmt.Sprintf("Could not route to %s, perhaps your object identifier is invalid?", path)},
		cfErr{7000, "No route for that URI"})
}

// cfBadInput writes 400/5006, the observed schema-validation failure.
func cfBadInput(w http.ResponseWriter, detail string) {
	cfError(w, http.StatusBadRequest, cfErr{5006, "AiError: Bad input: Error: " + detail})
}

// cfNoModel writes 400/5007.
func cfNoModel(w http.ResponseWriter, model string) {
	cfError(w, http.StatusBadRequest, cfErr{5007, fmt.Sprintf("No such model %s or task", model)})
}

// cfFault answers with a scripted fault.
func cfFault(w http.ResponseWriter, f *Fault) {
	for k, vs := range f.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if f.Body != "" {
		ct := "text/plain; charset=utf-8"
		if strings.HasPrefix(strings.TrimSpace(f.Body), "<") {
			ct = "text/html; charset=UTF-8"
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(f.Body))
		return
	}
	code, _ := strconv.Atoi(f.Code)
	cfError(w, status, cfErr{code, f.Message})
}

// The Workers AI failures of wire doc §2.8 and §1, ready for Faults.Add. retryAfter, when
// not empty, is sent as the Retry-After header.

// CFCapacityFault is 429/3040, out of capacity (retryable).
func CFCapacityFault(retryAfter string) Fault {
	return Fault{Status: 429, Code: "3040", Message: "Capacity temporarily exceeded, please try again.", Header: cfRetryAfter(retryAfter)}
}

// CFDailyQuotaFault is 429/3036, the daily free allocation used up (not retryable).
func CFDailyQuotaFault() Fault {
	return Fault{Status: 429, Code: "3036", Message: "You have used up your daily free allocation of 10,000 neurons. Please upgrade to Cloudflare's Workers Paid plan if you would like to continue usage."}
}

// CFNeuronQuotaFault is the observed 429/4006 quota form (not retryable).
func CFNeuronQuotaFault() Fault {
	return Fault{Status: 429, Code: "4006", Message: "AiError: AiError: you have used up your daily free allocation of 10,000 neurons, please upgrade to Cloudflare's Workers Paid plan if you would like to continue usage."}
}

// CFTimeoutFault is 408/3007 (retryable).
func CFTimeoutFault() Fault { return Fault{Status: 408, Code: "3007", Message: "Request timeout"} }

// CFTooLargeFault is 413/3006 (split, do not retry).
func CFTooLargeFault() Fault {
	return Fault{Status: 413, Code: "3006", Message: "Request is too large"}
}

// CFAgreementFault is 403/5016, model agreement not accepted.
func CFAgreementFault() Fault {
	return Fault{Status: 403, Code: "5016", Message: "Prior to using this model, you must submit the prompt 'agree'"}
}

// CFUnavailableFault is a 503 with a non-JSON body.
func CFUnavailableFault() Fault {
	return Fault{Status: 503, Body: "upstream connect error or disconnect/reset before headers. reset reason: overflow"}
}

// CFEdgeRateLimitFault is the HTML "Error 1015" page with 429.
func CFEdgeRateLimitFault(retryAfter string) Fault {
	return Fault{Status: 429, Header: cfRetryAfter(retryAfter),
		Body: "<!DOCTYPE html><html><head><title>Access denied | api.cloudflare.com used Cloudflare to restrict access</title></head><body><h1>Error 1015</h1><h2>You are being rate limited</h2></body></html>"}
}

// CFGlobalRateLimitFault is the account-wide 1200/300s limit, with Ratelimit headers.
func CFGlobalRateLimitFault(retryAfter string) Fault {
	h := cfRetryAfter(retryAfter)
	h.Set("Ratelimit", `"default";r=0;t=30`)
	h.Set("Ratelimit-Policy", `"burst";q=100;w=60`)
	return Fault{Status: 429, Header: h, // the code of this error is undocumented
		Message: "More than 1200 requests per 300 seconds reached. Please wait and consider throttling your request speed"}
}

func cfRetryAfter(v string) http.Header {
	h := http.Header{}
	if v != "" {
		h.Set("Retry-After", v)
	}
	return h
}
