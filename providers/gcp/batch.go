package gcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	core "github.com/modelfn/modelfn/functions"
	"github.com/modelfn/modelfn/functions/batch"
)

// EventFinalized is the CloudEvent type Eventarc delivers when an object
// is written (created or overwritten) in a Cloud Storage bucket.
const EventFinalized = "google.cloud.storage.object.v1.finalized"

// StorageObject is the part of a CloudEvent's data (the Cloud Storage
// object resource, google.events.cloud.storage.v1.StorageObjectData) the
// batch function reads. Int64 fields arrive as JSON strings.
type StorageObject struct {
	Bucket      string      `json:"bucket"`
	Name        string      `json:"name"`
	Generation  json.Number `json:"generation"`
	Size        json.Number `json:"size"`
	ETag        string      `json:"etag"`
	ContentType string      `json:"contentType"`
}

// Batch is the CloudEvent entry point: it scores the object a
// google.cloud.storage.object.v1.finalized event names.
//
// A returned error makes Eventarc deliver the event again (the trigger's
// retry policy), so only failures that a retry can fix are returned:
// storage or model trouble. An event that can never succeed — another
// type, undecodable data, an object outside the input prefix (the
// function's own output lands in the same bucket and fires events too), an
// object deleted since — is acknowledged and logged. Scoring is
// idempotent: the output, errors and prediction-log keys derive from the
// input, so a redelivered event rewrites the same objects.
func (f *Functions) Batch(ctx context.Context, e cloudevents.Event) error {
	log := f.log.With("event_id", e.ID(), "event_type", e.Type())
	if e.Type() != EventFinalized {
		log.Warn("batch: not an object-finalized event; ignored (the Eventarc trigger should filter on " + EventFinalized + ")")
		return nil
	}
	var obj StorageObject
	if err := e.DataAs(&obj); err != nil || obj.Name == "" {
		log.Error("batch: event data is not a Cloud Storage object; ignored", "err", err, "data", clip(string(e.Data()), 300))
		return nil
	}
	log = log.With("bucket", obj.Bucket, "object", obj.Name, "generation", obj.Generation.String())
	app, err := f.App(ctx)
	if err != nil {
		return fmt.Errorf("batch gs://%s/%s: %w", obj.Bucket, obj.Name, err)
	}
	if want := f.batchBucketName(); want != "" && obj.Bucket != want {
		log.Error("batch: event from another bucket than the batch bucket; ignored", "batch_bucket", want)
		return nil
	}
	size, _ := obj.Size.Int64()
	log.Info("batch: scoring", "bytes", size)
	err = app.ScoreObject(ctx, core.Object{Bucket: obj.Bucket, Key: obj.Name, Size: size, ETag: obj.ETag})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, batch.ErrNotInput):
		log.Debug("batch: not under the input prefix; skipped", "reason", err.Error())
		return nil
	case errors.Is(err, batch.ErrGone):
		log.Warn("batch: the object is gone (deleted since the event); skipped", "err", err)
		return nil
	case batch.Permanent(err):
		log.Error("batch: the object cannot be scored; not retried", "err", err)
		return nil
	}
	log.Error("batch: scoring failed; Eventarc will deliver the event again", "err", err)
	return fmt.Errorf("batch gs://%s/%s: %w", obj.Bucket, obj.Name, err)
}

// batchBucketName is the name of the gs:// batch bucket ("" for another
// scheme, as in tests).
func (f *Functions) batchBucketName() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, err := url.Parse(f.batchURL)
	if err != nil || u.Scheme != "gs" {
		return ""
	}
	return u.Host
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
