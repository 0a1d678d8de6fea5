package gcp_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"gocloud.dev/blob"

	"github.com/modelfn/modelfn/functions/monitoring"
	"github.com/modelfn/modelfn/providers/gcp"
	"github.com/modelfn/modelfn/runtime/bundle"
	"github.com/modelfn/modelfn/testing/conformance"
)

// gcpTarget is the deployed artifact on Google's local counterparts: the
// source archive compiled offline and run as three functions-framework
// servers (one per entry point, as Cloud Run runs them), Cloud Storage as
// fake-gcs-server, Cloud Monitoring as a loopback gRPC MetricService.
// Events arrive as Eventarc sends them.
type gcpTarget struct {
	t                       *testing.T
	gcs                     *gcs
	ms                      *metricServer
	predict, batch, monitor *fn
	batchB, logB            *blob.Bucket
}

func newTarget(t *testing.T) *gcpTarget {
	g := startGCS(t)
	ms := startMetricServer(t)
	return &gcpTarget{
		t: t, gcs: g, ms: ms,
		predict: startFunction(t, gcp.EntryPredict, g, ms),
		batch:   startFunction(t, gcp.EntryBatch, g, ms),
		monitor: startFunction(t, gcp.EntryMonitor, g, ms),
		batchB:  g.bucket(t, batchBucket),
		logB:    g.bucket(t, logBucket),
	}
}

func TestConformance(t *testing.T) {
	conformance.Run(t, newTarget(t))
}

func (g *gcpTarget) Do(ctx context.Context, method, path, ctype string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, g.predict.url+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// Batch writes the object and delivers its finalized event in binary mode.
func (g *gcpTarget) Batch(ctx context.Context, key string, data []byte) error {
	if err := g.batchB.WriteAll(ctx, key, data, nil); err != nil {
		return err
	}
	status, body := sendEvent(g.t, g.batch.url, storageEvent(g.t, g.gcs, batchBucket, key), binaryMode)
	if status/100 != 2 {
		return fmt.Errorf("batch function answered %d: %s", status, body)
	}
	return nil
}

// Flush stops the predict instance as Cloud Run does: SIGTERM, then the
// process must end by itself within Cloud Run's 10 seconds.
func (g *gcpTarget) Flush(ctx context.Context) error {
	return terminate(g.predict)
}

// Monitor calls the monitor as Cloud Scheduler's HTTP target does.
func (g *gcpTarget) Monitor(ctx context.Context) error {
	status, body := schedulerCall(g.t, g.monitor.url)
	if status != http.StatusOK {
		return fmt.Errorf("monitor answered %d: %s", status, body)
	}
	return nil
}

func (g *gcpTarget) Metrics(context.Context) ([]monitoring.Metric, error) { return g.ms.Metrics(), nil }
func (g *gcpTarget) BatchBucket() *blob.Bucket                            { return g.batchB }
func (g *gcpTarget) LogBucket() *blob.Bucket                              { return g.logB }

// terminate sends SIGTERM and waits for the instance to exit of it.
func terminate(f *fn) error {
	if err := f.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case err := <-f.done:
		f.done <- err // for the cleanup
		ws, ok := f.cmd.ProcessState.Sys().(syscall.WaitStatus)
		if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
			return fmt.Errorf("%s did not end of SIGTERM: %v", f.target, err)
		}
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s still running 10s after SIGTERM (Cloud Run would kill it and lose the buffered log)", f.target)
	}
}

// schedulerCall is Cloud Scheduler's HTTP target call with an OIDC token
// (which Cloud Run verifies before the function sees the request).
func schedulerCall(t *testing.T, url string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl")
	req.Header.Set("User-Agent", "Google-Cloud-Scheduler")
	req.Header.Set("X-CloudScheduler", "true")
	req.Header.Set("X-CloudScheduler-JobName", "breast-cancer-monitor")
	req.Header.Set("X-CloudScheduler-ScheduleTime", time.Now().UTC().Format(time.RFC3339))
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type eventMode int

const (
	binaryMode eventMode = iota
	structuredMode
)

var eventSeq atomic.Int64

// storageEvent is the event Eventarc delivers for a finalized object: its
// data is the object's resource as the Cloud Storage API describes it.
func storageEvent(t *testing.T, g *gcs, bucket, name string) cloudevents.Event {
	t.Helper()
	e := cloudevents.NewEvent()
	e.SetID(fmt.Sprintf("%d", 9000000000000+eventSeq.Add(1)))
	e.SetSource("//storage.googleapis.com/projects/_/buckets/" + bucket)
	e.SetType(gcp.EventFinalized)
	e.SetSubject("objects/" + name)
	e.SetTime(time.Now().UTC())
	e.SetExtension("bucket", bucket)
	if err := e.SetData("application/json", g.objectResource(t, bucket, name)); err != nil {
		t.Fatal(err)
	}
	return e
}

// sendEvent delivers e over HTTP in binary mode (attributes in ce-
// headers, data as the body: how Eventarc pushes) or structured mode (the
// whole event as application/cloudevents+json).
func sendEvent(t *testing.T, url string, e cloudevents.Event, mode eventMode) (int, string) {
	t.Helper()
	var req *http.Request
	switch mode {
	case binaryMode:
		req, _ = http.NewRequest(http.MethodPost, url, bytes.NewReader(e.Data()))
		req.Header.Set("Content-Type", e.DataContentType())
		req.Header.Set("Ce-Specversion", e.SpecVersion())
		req.Header.Set("Ce-Id", e.ID())
		req.Header.Set("Ce-Source", e.Source())
		req.Header.Set("Ce-Type", e.Type())
		if e.Subject() != "" {
			req.Header.Set("Ce-Subject", e.Subject())
		}
		req.Header.Set("Ce-Time", e.Time().Format(time.RFC3339Nano))
		for k, v := range e.Extensions() {
			req.Header.Set("Ce-"+k, fmt.Sprint(v))
		}
	case structuredMode:
		b, err := e.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		req, _ = http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/cloudevents+json; charset=utf-8")
	}
	req.Header.Set("User-Agent", "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)")
	return do(t, req)
}

func loadExample() (*bundle.Bundle, error) { return bundle.Load(conformance.Bundle()) }
