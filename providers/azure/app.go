package azure

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/modelfn/modelfn/providers/build"
	"github.com/modelfn/modelfn/runtime/bundle"
)

// The function app's layout and wiring. The Terraform module must agree
// with these names (see README.md).
const (
	// Executable is the handler binary at the app root.
	Executable = "handler"
	// BatchQueue is the storage queue that Event Grid fills with the batch
	// container's BlobCreated events and the batch function drains.
	BatchQueue = "modelfn-batch"
	// StorageConnection is the app-setting prefix of the queue trigger's
	// connection: STORAGE_CONNECTION__queueServiceUri with the managed
	// identity.
	StorageConnection = "MODELFN_STORAGE"
	// MaxDequeueCount is how often a failing batch message is tried before
	// the host moves it to the poison queue (modelfn-batch-poison).
	MaxDequeueCount = 5
	// MaxRequestBytes is the Functions host's HTTP request limit: larger
	// bodies get the host's own 413 and never reach the handler.
	MaxRequestBytes = 100 << 20
)

// defaultFunctionTimeout is the Flex Consumption plan's default.
const defaultFunctionTimeout = 30 * time.Minute

// hostJSON is host.json, fields in the order the docs show them.
type hostJSON struct {
	Version         string          `json:"version"`
	FunctionTimeout string          `json:"functionTimeout"`
	CustomHandler   customHandler   `json:"customHandler"`
	ExtensionBundle extensionBundle `json:"extensionBundle"`
	Extensions      extensions      `json:"extensions"`
	Logging         logging         `json:"logging"`
}

type customHandler struct {
	Description struct {
		DefaultExecutablePath string   `json:"defaultExecutablePath"`
		Arguments             []string `json:"arguments"`
	} `json:"description"`
	// The host proxies the client's HTTP request to the handler as is (the
	// newer YARP-based successor of enableForwardingHttpRequest, which
	// also streams responses).
	EnableProxyingHttpRequest bool `json:"enableProxyingHttpRequest"`
}

type extensionBundle struct {
	ID      string `json:"id"`
	Version string `json:"version"`
}

type extensions struct {
	HTTP struct {
		RoutePrefix string `json:"routePrefix"`
	} `json:"http"`
	Queues struct {
		// Event Grid writes the event's JSON as the message text.
		MessageEncoding string `json:"messageEncoding"`
		MaxDequeueCount int    `json:"maxDequeueCount"`
		// One batch file at a time per instance: the scorer streams, but
		// several large files at once would share one instance's memory
		// and CPU; the plan scales out on queue length instead.
		BatchSize         int    `json:"batchSize"`
		NewBatchThreshold int    `json:"newBatchThreshold"`
		VisibilityTimeout string `json:"visibilityTimeout"` // delay before a failed message is retried
	} `json:"queues"`
}

type logging struct {
	LogLevel map[string]string `json:"logLevel"`
}

type functionJSON struct {
	Bindings []map[string]any `json:"bindings"`
}

// HostJSON is the app's host.json for bundle b.
func HostJSON(b *bundle.Bundle) ([]byte, error) {
	timeout := defaultFunctionTimeout
	if s := b.Config.Clouds.Azure.TimeoutSeconds; s > 0 {
		timeout = time.Duration(s) * time.Second
	}
	h := hostJSON{Version: "2.0", FunctionTimeout: timeSpan(timeout)}
	h.CustomHandler.Description.DefaultExecutablePath = Executable
	h.CustomHandler.Description.Arguments = []string{}
	h.CustomHandler.EnableProxyingHttpRequest = true
	h.ExtensionBundle = extensionBundle{ID: "Microsoft.Azure.Functions.ExtensionBundle", Version: "[4.*, 5.0.0)"}
	h.Extensions.HTTP.RoutePrefix = RoutePrefix
	q := &h.Extensions.Queues
	q.MessageEncoding, q.MaxDequeueCount, q.BatchSize, q.NewBatchThreshold, q.VisibilityTimeout = "none", MaxDequeueCount, 1, 0, "00:00:30"
	h.Logging.LogLevel = map[string]string{"default": "Information"}
	return json.MarshalIndent(h, "", "  ")
}

// FunctionJSON is each function's function.json for bundle b, by folder.
func FunctionJSON(b *bundle.Bundle) (map[string][]byte, error) {
	schedule, err := Schedule(b.Config.Monitoring.Interval)
	if err != nil {
		return nil, fmt.Errorf("bundle %q: %w", b.Config.Name, err)
	}
	auth := "function" // the host checks a function key (?code= or x-functions-key)
	if b.Config.Clouds.Azure.Public {
		auth = "anonymous"
	}
	fns := map[string]functionJSON{
		// No "methods": every method reaches the handler, which answers
		// the wrong ones with its own 405, as locally.
		FunctionPredict: {Bindings: []map[string]any{
			{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": auth, "route": "{*path}"},
			{"type": "http", "direction": "out", "name": "res"},
		}},
		FunctionBatch: {Bindings: []map[string]any{
			{"type": "queueTrigger", "direction": "in", "name": "event", "queueName": BatchQueue, "connection": StorageConnection},
		}},
		FunctionMonitor: {Bindings: []map[string]any{
			{"type": "timerTrigger", "direction": "in", "name": "timer", "schedule": schedule, "runOnStartup": false, "useMonitor": true},
		}},
	}
	out := map[string][]byte{}
	for name, f := range fns {
		data, err := json.MarshalIndent(f, "", "  ")
		if err != nil {
			return nil, err
		}
		out[name] = data
	}
	return out, nil
}

// AppFiles are host.json and the function folders, in a stable order.
func AppFiles(b *bundle.Bundle) ([]build.File, error) {
	host, err := HostJSON(b)
	if err != nil {
		return nil, err
	}
	fns, err := FunctionJSON(b)
	if err != nil {
		return nil, err
	}
	files := []build.File{{Name: "host.json", Data: host}}
	for _, name := range []string{FunctionPredict, FunctionBatch, FunctionMonitor} {
		files = append(files, build.File{Name: name + "/function.json", Data: fns[name]})
	}
	return files, nil
}

// timeSpan formats d as a .NET TimeSpan ([d.]hh:mm:ss).
func timeSpan(d time.Duration) string {
	s := int64(d / time.Second)
	days, h, m := s/86400, s/3600%24, s/60%60
	if days > 0 {
		return fmt.Sprintf("%d.%02d:%02d:%02d", days, h, m, s%60)
	}
	return fmt.Sprintf("%02d:%02d:%02d", h, m, s%60)
}
