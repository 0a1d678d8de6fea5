// Package azure runs modelfn's functions on Azure Functions as a custom
// handler: one Go binary serving HTTP on FUNCTIONS_CUSTOMHANDLER_PORT,
// which the Functions host starts and calls for every function of the app.
//
//	predict  HTTP trigger, proxied as is (enableProxyingHttpRequest):
//	         the host sends the client's request to /api/<path>
//	batch    queue trigger on the queue Event Grid fills with the batch
//	         container's BlobCreated events: POST /batch {"Data","Metadata"}
//	monitor  timer trigger on the bundle's schedule: POST /monitor
//
// Storage is Blob Storage through gocloud.dev's azureblob (azblob://
// URLs), monitoring is Azure Monitor through package azuremonitor; both
// are imported here so their URL schemes work.
package azure

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	_ "gocloud.dev/blob/azureblob" // azblob:// buckets

	"github.com/modelfn/modelfn/functions"
	"github.com/modelfn/modelfn/functions/batch"
	_ "github.com/modelfn/modelfn/providers/azure/azuremonitor" // azuremonitor:// metrics
)

// Function names: the folders of the app, and the paths the host posts
// non-HTTP invocations to.
const (
	FunctionPredict = "predict"
	FunctionBatch   = "batch"
	FunctionMonitor = "monitor"
)

// RoutePrefix is the host's HTTP route prefix. Proxied predict requests
// arrive under it, invocations of the other functions at /<name>; keeping
// them apart means no HTTP client can reach the batch or monitor
// invocation paths through the predict function's catch-all route.
const RoutePrefix = "api"

// InvokeRequest is the host's invocation payload for a non-HTTP trigger.
type InvokeRequest struct {
	Data     map[string]json.RawMessage `json:"Data"`
	Metadata map[string]json.RawMessage `json:"Metadata"`
}

// InvokeResponse is what a custom handler answers an invocation with. A
// non-2xx status fails the invocation: the host retries a queue message
// (then moves it to the poison queue) and logs a failed timer run.
type InvokeResponse struct {
	Outputs     map[string]any `json:"Outputs"`
	Logs        []string       `json:"Logs"`
	ReturnValue any            `json:"ReturnValue"`
}

// NewHandler serves app's three functions as the Functions host calls
// them; cfg is the wiring app was built from.
func NewHandler(app *functions.App, cfg functions.Config) http.Handler {
	h := &handler{app: app, log: app.Logger, container: containerOf(cfg.BatchURL)}
	if h.log == nil {
		h.log = slog.Default()
	}
	mux := http.NewServeMux()
	// The host pings the root until the handler answers (any answer will do).
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]bool{"live": true})
	})
	mux.Handle("/"+RoutePrefix+"/", http.StripPrefix("/"+RoutePrefix, app.Handler()))
	mux.HandleFunc("POST /"+FunctionBatch, h.batch)
	mux.HandleFunc("POST /"+FunctionMonitor, h.monitor)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{
			"error": fmt.Sprintf("no function at %s %s: predict is served under /%s/, batch and monitor are invoked by the Functions host", r.Method, clip(r.URL.Path), RoutePrefix),
			"code":  "not_found",
		})
	})
	return mux
}

type handler struct {
	app       *functions.App
	log       *slog.Logger
	container string // the batch container, "" when unknown
}

// batch scores the blob a BlobCreated event names. Events for other
// containers or outside the input prefix are acknowledged and logged
// (retrying cannot change them); every other failure fails the invocation
// so the host retries it and finally poison-queues it.
func (h *handler) batch(w http.ResponseWriter, r *http.Request) {
	inv, err := readInvocation(r)
	if err != nil {
		h.fail(w, "batch", err)
		return
	}
	ev, err := blobEvent(inv)
	if err != nil {
		h.fail(w, "batch", err)
		return
	}
	if why := ev.skip(); why != "" {
		h.done(w, fmt.Sprintf("ignored %s: %s", ev.Subject, why))
		return
	}
	container, key, err := ev.blob()
	if err != nil {
		h.fail(w, "batch", err)
		return
	}
	if h.container != "" && container != h.container {
		h.log.Warn("batch: event for another container ignored", "container", container, "batch_container", h.container, "key", key)
		h.done(w, fmt.Sprintf("ignored %s/%s: the batch container is %s", container, key, h.container))
		return
	}
	ctx := r.Context()
	// Delivery is at least once: skip an input whose output is newer.
	if s := h.app.Batch; s != nil {
		if _, err := s.OutputKey(key); err == nil {
			if a, err := h.app.BatchBucket.Attributes(ctx, key); err == nil && s.UpToDate(ctx, key, a.ModTime) {
				h.done(w, fmt.Sprintf("%s is already scored (a repeated event)", key))
				return
			}
		}
	}
	err = h.app.ScoreObject(ctx, functions.Object{Bucket: container, Key: key, ETag: ev.Data.ETag, Size: ev.Data.ContentLength})
	switch {
	case errors.Is(err, batch.ErrNotInput):
		h.log.Warn("batch: object outside the input prefix ignored", "key", key)
		h.done(w, fmt.Sprintf("ignored %s: not under the input prefix", key))
	case errors.Is(err, batch.ErrGone):
		h.log.Warn("batch: object gone before it was scored", "key", key, "err", err)
		h.done(w, fmt.Sprintf("ignored %s: it no longer exists", key))
	case batch.Permanent(err):
		h.log.Error("batch: the object cannot be scored; not retried", "key", key, "err", err)
		h.done(w, fmt.Sprintf("ignored %s: %v", key, err))
	case err != nil:
		h.fail(w, "batch", err)
	default:
		out, _ := h.app.Batch.OutputKey(key)
		h.done(w, fmt.Sprintf("scored %s into %s", key, out))
	}
}

// monitor runs one monitor pass; a failed pass fails the invocation (the
// timer does not retry: the next tick starts from the last checkpoint).
func (h *handler) monitor(w http.ResponseWriter, r *http.Request) {
	inv, err := readInvocation(r)
	if err != nil {
		h.fail(w, "monitor", err)
		return
	}
	var t timerInfo
	if raw, ok := inv.Data["timer"]; ok {
		_ = json.Unmarshal(raw, &t) // informational only
	}
	if t.IsPastDue {
		h.log.Info("monitor: the timer is past due; running now")
	}
	if err := h.app.RunMonitor(r.Context()); err != nil {
		h.fail(w, "monitor", err)
		return
	}
	h.done(w, "monitor run finished")
}

// timerInfo is the timer trigger's Data.timer.
type timerInfo struct {
	IsPastDue bool `json:"IsPastDue"`
}

// done answers a finished invocation. No output binding reads Outputs or
// ReturnValue, but the host warns on every invocation where they are
// empty, so they carry the summary too.
func (h *handler) done(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusOK, InvokeResponse{Outputs: map[string]any{"result": msg}, Logs: []string{msg}, ReturnValue: msg})
}

// fail answers a failed invocation. The host does not read the body of a
// non-2xx answer, so the error is also logged to stderr, which the host
// forwards to Application Insights.
func (h *handler) fail(w http.ResponseWriter, fn string, err error) {
	h.log.Error(fn+" failed", "err", err)
	writeJSON(w, http.StatusInternalServerError, InvokeResponse{Outputs: map[string]any{}, Logs: []string{fn + " failed: " + err.Error()}})
}

// maxInvocationBytes bounds an invocation payload: events and timer
// payloads are a few kilobytes.
const maxInvocationBytes = 1 << 20

func readInvocation(r *http.Request) (*InvokeRequest, error) {
	var inv InvokeRequest
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxInvocationBytes))
	if err := dec.Decode(&inv); err != nil {
		return nil, fmt.Errorf("invocation payload: %w", err)
	}
	return &inv, nil
}

// containerOf is the container an azblob:// URL names ("" for others).
func containerOf(bucketURL string) string {
	u, err := url.Parse(bucketURL)
	if err != nil || u.Scheme != "azblob" {
		return ""
	}
	return u.Host
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encoding the answer failed","code":"internal"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}
