package azuretest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/modelfn/modelfn/testing/tools"

	"github.com/modelfn/modelfn/providers/azure"
)

// HostVersion is the Functions host version the runner claims to be.
const HostVersion = "4.1041.200.25"

// App is a built function app run the way the Azure Functions host runs a
// custom handler: it reads host.json and the function folders, starts
// customHandler.description.defaultExecutablePath in the app root with
// FUNCTIONS_CUSTOMHANDLER_PORT set, waits until the handler answers on
// that port, and then sends what the host sends — the client's request,
// proxied under the route prefix, for the HTTP function, and POST
// /<function> with the {"Data", "Metadata"} payload for the others.
//
// It stands in for the host, which does not run here (its npm package
// downloads the host at install time); the payloads follow the custom
// handler documentation and the host's DefaultHttpWorkerService.
type App struct {
	Dir       string
	Host      HostJSON
	Functions map[string]FunctionJSON
	// Key is the function key clients must present to an HTTP function
	// with authLevel "function" (?code= or x-functions-key).
	Key string

	mu     sync.Mutex
	cmd    *exec.Cmd
	base   string
	done   chan error
	output *tools.SyncBuffer
}

// HostJSON is the part of host.json the runner reads.
type HostJSON struct {
	Version       string `json:"version"`
	CustomHandler struct {
		Description struct {
			DefaultExecutablePath string   `json:"defaultExecutablePath"`
			Arguments             []string `json:"arguments"`
			WorkingDirectory      string   `json:"workingDirectory"`
		} `json:"description"`
		EnableProxyingHttpRequest   bool `json:"enableProxyingHttpRequest"`
		EnableForwardingHttpRequest bool `json:"enableForwardingHttpRequest"`
	} `json:"customHandler"`
	Extensions struct {
		HTTP struct {
			RoutePrefix *string `json:"routePrefix"`
		} `json:"http"`
	} `json:"extensions"`
}

// FunctionJSON is a function.json.
type FunctionJSON struct {
	Bindings []map[string]any `json:"bindings"`
}

// Trigger is the function's trigger binding.
func (f FunctionJSON) Trigger() map[string]any {
	for _, b := range f.Bindings {
		if t, _ := b["type"].(string); strings.HasSuffix(t, "Trigger") {
			return b
		}
	}
	return nil
}

// Unzip extracts a zip (the built app) into dir, keeping file modes.
func Unzip(zipPath, dir string) error { return tools.Unzip(zipPath, dir) }

// LoadApp reads an app folder's host.json and function folders.
func LoadApp(dir string) (*App, error) {
	a := &App{Dir: dir, Functions: map[string]FunctionJSON{}, Key: randomHex(16)}
	data, err := os.ReadFile(filepath.Join(dir, "host.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &a.Host); err != nil {
		return nil, fmt.Errorf("host.json: %w", err)
	}
	if a.Host.Version != "2.0" || a.Host.CustomHandler.Description.DefaultExecutablePath == "" {
		return nil, fmt.Errorf("host.json: want version 2.0 and a customHandler.description.defaultExecutablePath")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name(), "function.json"))
		if !e.IsDir() || os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var f FunctionJSON
		if err := json.Unmarshal(data, &f); err != nil {
			return nil, fmt.Errorf("%s/function.json: %w", e.Name(), err)
		}
		if f.Trigger() == nil {
			return nil, fmt.Errorf("%s/function.json: no trigger binding", e.Name())
		}
		a.Functions[e.Name()] = f
	}
	return a, nil
}

// RoutePrefix is extensions.http.routePrefix ("api" when unset).
func (a *App) RoutePrefix() string {
	if p := a.Host.Extensions.HTTP.RoutePrefix; p != nil {
		return *p
	}
	return "api"
}

// Start starts the handler process with env (plus what the host sets).
func (a *App) Start(env []string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	port, err := freePort()
	if err != nil {
		return err
	}
	d := a.Host.CustomHandler.Description
	wd := a.Dir
	if d.WorkingDirectory != "" {
		wd = filepath.Join(a.Dir, d.WorkingDirectory)
	}
	cmd := exec.Command(filepath.Join(a.Dir, d.DefaultExecutablePath), d.Arguments...)
	cmd.Dir = wd
	cmd.Env = append(append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...),
		azure.EnvPort+"="+strconv.Itoa(port), "FUNCTIONS_WORKER_RUNTIME=custom", "AzureWebJobsScriptRoot="+a.Dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if a.output == nil {
		a.output = &tools.SyncBuffer{}
	}
	cmd.Stdout, cmd.Stderr = a.output, a.output
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", d.DefaultExecutablePath, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	a.cmd, a.done, a.base = cmd, done, "http://127.0.0.1:"+strconv.Itoa(port)
	// The host gives a custom handler 60 seconds to answer its first ping.
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(a.base + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case err := <-done:
			a.cmd = nil
			return fmt.Errorf("the handler exited before answering: %v\n%s", err, a.output)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-done
			a.cmd = nil
			return fmt.Errorf("the handler did not answer on port %d within 60s\n%s", port, a.output)
		}
	}
}

// Stop sends sig to the handler and waits for it to exit, returning its
// exit error (nil for status 0).
func (a *App) Stop(sig os.Signal) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cmd == nil {
		return nil
	}
	a.cmd.Process.Signal(sig)
	var err error
	select {
	case err = <-a.done:
	case <-time.After(time.Minute):
		a.cmd.Process.Kill()
		err = fmt.Errorf("the handler did not exit within a minute of %v; killed: %v", sig, <-a.done)
	}
	a.cmd = nil
	return err
}

// Output is what the handler wrote to stdout and stderr so far.
func (a *App) Output() string {
	if a.output == nil {
		return ""
	}
	return a.output.String()
}

// HTTP delivers a client's request to the app's HTTP function: checks its
// function key as the host does, then proxies it to the handler under
// the route prefix.
func (a *App) HTTP(ctx context.Context, method, path string, header http.Header, body []byte) (*http.Response, error) {
	fn, f, err := a.httpFunction()
	if err != nil {
		return nil, err
	}
	if !a.Host.CustomHandler.EnableProxyingHttpRequest && !a.Host.CustomHandler.EnableForwardingHttpRequest {
		return nil, fmt.Errorf("%s: the host would wrap the request in an invocation payload (host.json enables no HTTP proxying)", fn)
	}
	if auth, _ := f.Trigger()["authLevel"].(string); auth != "anonymous" {
		_, q, _ := strings.Cut(path, "?")
		vals, _ := url.ParseQuery(q)
		if vals.Get("code") != a.Key && header.Get("x-functions-key") != a.Key {
			return &http.Response{StatusCode: http.StatusUnauthorized, Body: io.NopCloser(strings.NewReader("")), Header: http.Header{}}, nil
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, a.url("/"+a.RoutePrefix()+path), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	a.hostHeaders(req)
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("X-Forwarded-Host", "modelfn-test.azurewebsites.net")
	return http.DefaultClient.Do(req)
}

func (a *App) httpFunction() (string, FunctionJSON, error) {
	for name, f := range a.Functions {
		tr := f.Trigger()
		if tr["type"] != "httpTrigger" {
			continue
		}
		if route, _ := tr["route"].(string); !strings.HasPrefix(route, "{*") {
			return "", f, fmt.Errorf("%s: the runner only routes catch-all routes, got %q", name, route)
		}
		return name, f, nil
	}
	return "", FunctionJSON{}, fmt.Errorf("the app has no httpTrigger function")
}

// Invoke sends a non-HTTP function its invocation payload and decodes
// the answer; a non-2xx status is what the host counts as a failed run.
func (a *App) Invoke(ctx context.Context, function string, data, metadata map[string]any) (int, azure.InvokeResponse, error) {
	var res azure.InvokeResponse
	if _, ok := a.Functions[function]; !ok {
		return 0, res, fmt.Errorf("the app has no function %q", function)
	}
	payload, err := json.Marshal(map[string]any{"Data": data, "Metadata": metadata})
	if err != nil {
		return 0, res, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url("/"+function), bytes.NewReader(payload))
	if err != nil {
		return 0, res, err
	}
	req.Header.Set("Content-Type", "application/json")
	a.hostHeaders(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, res, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, res, err
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return resp.StatusCode, res, fmt.Errorf("%s answered %d with a body that is not an invocation response: %.300s", function, resp.StatusCode, b)
	}
	return resp.StatusCode, res, nil
}

// InvokeQueue delivers a queue message to a queueTrigger function.
func (a *App) InvokeQueue(ctx context.Context, function, message string, dequeueCount int) (int, azure.InvokeResponse, error) {
	f, ok := a.Functions[function]
	if !ok || f.Trigger()["type"] != "queueTrigger" {
		return 0, azure.InvokeResponse{}, fmt.Errorf("%s is not a queueTrigger function", function)
	}
	name, _ := f.Trigger()["name"].(string)
	data, meta := QueueInvocation(name, message, dequeueCount)
	return a.Invoke(ctx, function, data, meta)
}

// InvokeTimer fires a timerTrigger function.
func (a *App) InvokeTimer(ctx context.Context, function string) (int, azure.InvokeResponse, error) {
	f, ok := a.Functions[function]
	if !ok || f.Trigger()["type"] != "timerTrigger" {
		return 0, azure.InvokeResponse{}, fmt.Errorf("%s is not a timerTrigger function", function)
	}
	name, _ := f.Trigger()["name"].(string)
	data, meta := TimerInvocation(name)
	return a.Invoke(ctx, function, data, meta)
}

// QueueInvocation is the host's Data and Metadata for a queue message
// delivered to the trigger binding called name: the message text as a
// string, and the message's properties.
func QueueInvocation(name, message string, dequeueCount int) (data, metadata map[string]any) {
	now := time.Now().UTC()
	return map[string]any{name: message}, map[string]any{
		"DequeueCount":    dequeueCount,
		"ExpirationTime":  now.Add(7 * 24 * time.Hour).Format(time.RFC3339),
		"Id":              randomHex(16),
		"InsertionTime":   now.Format(time.RFC3339),
		"NextVisibleTime": now.Add(10 * time.Minute).Format(time.RFC3339),
		"PopReceipt":      randomHex(12),
		"sys":             sys("QueueTrigger", now),
	}
}

// TimerInvocation is the host's Data and Metadata for a timer tick
// delivered to the trigger binding called name.
func TimerInvocation(name string) (data, metadata map[string]any) {
	now := time.Now().UTC()
	return map[string]any{name: map[string]any{
		"Schedule":       map[string]any{"AdjustForDST": true},
		"ScheduleStatus": map[string]any{"Last": now.Add(-time.Hour).Format(time.RFC3339), "Next": now.Add(time.Hour).Format(time.RFC3339), "LastUpdated": now.Format(time.RFC3339)},
		"IsPastDue":      false,
	}}, map[string]any{"sys": sys("TimerTrigger", now)}
}

// BlobCreated is the Event Grid event (Event Grid schema) Blob Storage
// sends when a blob is written, as a storage-queue subscription writes it
// into the queue.
func BlobCreated(account, container, name, etag, contentType string, size int64, blobURL string) string {
	ev := map[string]any{
		"topic":     "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/modelfn/providers/Microsoft.Storage/storageAccounts/" + account,
		"subject":   "/blobServices/default/containers/" + container + "/blobs/" + name,
		"eventType": azure.BlobCreated,
		"id":        randomHex(16),
		"data": map[string]any{
			"api": "PutBlockList", "clientRequestId": randomHex(16), "requestId": randomHex(16),
			"eTag": etag, "contentType": contentType, "contentLength": size, "blobType": "BlockBlob",
			"url": blobURL, "sequencer": "00000000000000000000000000005e2a0000000000000d41",
			"storageDiagnostics": map[string]any{"batchId": randomHex(16)},
		},
		"dataVersion": "", "metadataVersion": "1",
		"eventTime": time.Now().UTC().Format(time.RFC3339Nano),
	}
	b, _ := json.Marshal(ev)
	return string(b)
}

func sys(method string, now time.Time) map[string]any {
	return map[string]any{"MethodName": method, "UtcNow": now.Format(time.RFC3339Nano), "RandGuid": randomHex(16)}
}

func (a *App) hostHeaders(req *http.Request) {
	req.Header.Set("X-Azure-Functions-HostVersion", HostVersion)
	req.Header.Set("X-Azure-Functions-InvocationId", randomHex(16))
	req.Header.Set("User-Agent", "AzureFunctionsHttpWorker/"+HostVersion)
}

func (a *App) url(path string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.base + path
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
