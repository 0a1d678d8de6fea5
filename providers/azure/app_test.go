package azure_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/modelfn/modelfn/providers/azure"
	"github.com/modelfn/modelfn/runtime/bundle"
	"github.com/modelfn/modelfn/testing/conformance"
)

func TestSchedule(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		time.Minute:        "0 * * * * *",
		5 * time.Minute:    "0 */5 * * * *",
		30 * time.Minute:   "0 */30 * * * *",
		time.Hour:          "0 0 * * * *",
		6 * time.Hour:      "0 0 */6 * * *",
		12 * time.Hour:     "0 0 */12 * * *",
		24 * time.Hour:     "0 0 0 * * *",
		7 * 24 * time.Hour: "0 0 0 * * 0",
	} {
		got, err := azure.Schedule(d)
		if err != nil || got != want {
			t.Errorf("Schedule(%v) = %q, %v; want %q", d, got, err, want)
		}
	}
	for _, d := range []time.Duration{0, 30 * time.Second, 7 * time.Minute, 90 * time.Minute, 5 * time.Hour, 48 * time.Hour, 61 * time.Second} {
		if got, err := azure.Schedule(d); err == nil || !strings.Contains(err.Error(), "no exact timer schedule") {
			t.Errorf("Schedule(%v) = %q, %v; want an error", d, got, err)
		}
	}
}

func load(t *testing.T) *bundle.Bundle {
	t.Helper()
	b, err := bundle.Load(conformance.Bundle())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// at walks a decoded JSON value: keys for objects, ints for arrays.
func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func TestHostJSON(t *testing.T) {
	t.Parallel()
	b := load(t)
	data, err := azure.HostJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	h := decode(t, data)
	for _, c := range []struct {
		path []any
		want any
	}{
		{[]any{"version"}, "2.0"},
		{[]any{"customHandler", "description", "defaultExecutablePath"}, "handler"},
		{[]any{"customHandler", "enableProxyingHttpRequest"}, true},
		{[]any{"extensions", "http", "routePrefix"}, "api"},
		{[]any{"extensions", "queues", "messageEncoding"}, "none"},
		{[]any{"extensions", "queues", "maxDequeueCount"}, 5.0},
		{[]any{"extensions", "queues", "batchSize"}, 1.0},
		{[]any{"extensionBundle", "id"}, "Microsoft.Azure.Functions.ExtensionBundle"},
		{[]any{"functionTimeout"}, "00:30:00"},
	} {
		if got := at(h, c.path...); got != c.want {
			t.Errorf("host.json %v = %v, want %v", c.path, got, c.want)
		}
	}
	b.Config.Clouds.Azure.TimeoutSeconds = 26 * 3600
	data, _ = azure.HostJSON(b)
	if got := at(decode(t, data), "functionTimeout"); got != "1.02:00:00" {
		t.Errorf("functionTimeout for 26h = %v", got)
	}
}

func TestFunctionJSON(t *testing.T) {
	t.Parallel()
	b := load(t)
	fns, err := azure.FunctionJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	predict, batch, monitor := decode(t, fns["predict"]), decode(t, fns["batch"]), decode(t, fns["monitor"])
	for _, c := range []struct {
		name string
		got  any
		want any
	}{
		{"predict trigger", at(predict, "bindings", 0, "type"), "httpTrigger"},
		{"predict auth (keys by default)", at(predict, "bindings", 0, "authLevel"), "function"},
		{"predict route (catch-all)", at(predict, "bindings", 0, "route"), "{*path}"},
		{"predict methods (all)", at(predict, "bindings", 0, "methods"), nil},
		{"predict output", at(predict, "bindings", 1, "type"), "http"},
		{"batch trigger", at(batch, "bindings", 0, "type"), "queueTrigger"},
		{"batch queue", at(batch, "bindings", 0, "queueName"), "modelfn-batch"},
		{"batch connection", at(batch, "bindings", 0, "connection"), "MODELFN_STORAGE"},
		{"monitor trigger", at(monitor, "bindings", 0, "type"), "timerTrigger"},
		{"monitor schedule (1h0m0s)", at(monitor, "bindings", 0, "schedule"), "0 0 * * * *"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}

	b.Config.Clouds.Azure.Public = true
	fns, _ = azure.FunctionJSON(b)
	if got := at(decode(t, fns["predict"]), "bindings", 0, "authLevel"); got != "anonymous" {
		t.Errorf("public: authLevel %v", got)
	}
	b.Config.Monitoring.Interval = 90 * time.Minute
	if _, err := azure.FunctionJSON(b); err == nil || !strings.Contains(err.Error(), `bundle "breast-cancer"`) {
		t.Errorf("a 90m interval: %v", err)
	}
}
