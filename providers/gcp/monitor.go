package gcp

import (
	"encoding/json"
	"log/slog"
	"mime"
	"net/http"

	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// Monitor is the HTTP entry point of the monitor: one monitoring pass per
// call. Cloud Scheduler calls it with an OIDC token, which Cloud Run checks
// before the request gets here (the function does not allow
// unauthenticated calls); an Eventarc Pub/Sub trigger delivers a
// CloudEvent, in binary or structured mode, which is logged and otherwise
// treated the same. A failed pass answers 500, so the scheduler's retry
// policy (or Pub/Sub's redelivery) runs it again; the monitor's checkpoint
// keeps a retried pass from counting a log object twice.
func (f *Functions) Monitor(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed; the monitor runs on POST (Cloud Scheduler or a Pub/Sub push)")
		return
	}
	log := f.log
	if isCloudEvent(r) {
		e, err := cehttp.NewEventFromHTTPRequest(r)
		if err != nil {
			writeError(w, http.StatusBadRequest, "malformed", "the request looks like a CloudEvent but does not decode: "+err.Error())
			return
		}
		log = log.With("event_id", e.ID(), "event_type", e.Type(), "event_source", e.Source())
	} else if job := r.Header.Get("X-CloudScheduler-JobName"); job != "" {
		log = log.With("scheduler_job", job, "scheduled_time", r.Header.Get("X-CloudScheduler-ScheduleTime"))
	}
	ctx := r.Context()
	app, err := f.App(ctx)
	if err != nil {
		log.Error("monitor: the function could not start", "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the function could not start; its logs say why")
		return
	}
	f.monitorMu.Lock()
	defer f.monitorMu.Unlock()
	log.Info("monitor: run starting")
	res, err := app.Monitor.Run(ctx)
	if err != nil {
		log.Error("monitor: run failed", "err", err)
		writeError(w, http.StatusInternalServerError, "monitor_failed", "the monitor run failed: "+err.Error())
		return
	}
	summary := struct {
		Status        string  `json:"status"`
		WindowRows    int     `json:"window_rows"`
		NotEnoughData bool    `json:"not_enough_data"`
		Metrics       int     `json:"metrics"`
		Alarms        int     `json:"alarms"`
		Records       int     `json:"records_read"`
		Seconds       float64 `json:"seconds"`
	}{"ok", res.WindowRows, res.NotEnoughData, len(res.Metrics), len(res.Alarms), res.Health.Records, res.Duration.Seconds()}
	log.LogAttrs(ctx, slog.LevelInfo, "monitor: run finished", slog.Int("window_rows", res.WindowRows),
		slog.Int("metrics", len(res.Metrics)), slog.Int("alarms", len(res.Alarms)), slog.Duration("took", res.Duration))
	b, _ := json.Marshal(summary)
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(b, '\n'))
}

// isCloudEvent tells a CloudEvent (binary mode: ce-specversion header;
// structured mode: application/cloudevents+json) from a plain call.
func isCloudEvent(r *http.Request) bool {
	if r.Header.Get("Ce-Specversion") != "" {
		return true
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/cloudevents+json"
}
