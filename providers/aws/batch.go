package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/modelfn/modelfn/functions"
	"github.com/modelfn/modelfn/functions/batch"
)

// Batch scores the objects an event announces: an S3 notification
// invoked directly (asynchronously) or S3 notifications carried by an SQS
// queue. A failure is returned, never swallowed: for a direct event as the
// invocation's error, so Lambda retries and then hands the event to the
// on-failure destination; for SQS as a partial batch failure naming the
// message, so only that message returns to the queue and, after its
// receive count, to the dead-letter queue. Scoring is idempotent, so a
// retried object is rewritten with the same output.
func (h *Handler) Batch(ctx context.Context, raw json.RawMessage) (any, error) {
	var probe struct {
		Records []struct {
			EventSource string `json:"eventSource"`
		} `json:"Records"`
		Event string `json:"Event"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("batch: event is not JSON: %w", err)
	}
	switch {
	case len(probe.Records) > 0 && probe.Records[0].EventSource == "aws:sqs":
		var e events.SQSEvent
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("batch: SQS event: %w", err)
		}
		return h.batchSQS(ctx, &e), nil
	case len(probe.Records) > 0 && probe.Records[0].EventSource == "aws:s3":
		var e events.S3Event
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("batch: S3 notification: %w", err)
		}
		return nil, h.scoreS3(ctx, &e)
	case probe.Event == "s3:TestEvent":
		h.log.Info("batch: S3 test event (sent when the notification is configured); nothing to score")
		return nil, nil
	}
	return nil, fmt.Errorf("batch: event is neither an S3 notification nor an SQS batch of them (%.200s)", raw)
}

// batchSQS scores each message's objects and reports the messages that
// failed.
func (h *Handler) batchSQS(ctx context.Context, e *events.SQSEvent) events.SQSEventResponse {
	var resp events.SQSEventResponse
	for _, m := range e.Records {
		if err := h.scoreMessage(ctx, m.Body); err != nil {
			h.log.Error("batch: message failed; it goes back to the queue", "message_id", m.MessageId, "err", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
	}
	if n := len(resp.BatchItemFailures); n > 0 {
		h.log.Warn("batch: partial failure", "failed_messages", n, "messages", len(e.Records))
	}
	return resp
}

func (h *Handler) scoreMessage(ctx context.Context, body string) error {
	var e events.S3Event
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		return fmt.Errorf("message body is not an S3 notification: %w", err)
	}
	if len(e.Records) == 0 {
		var test struct{ Event string }
		if json.Unmarshal([]byte(body), &test) == nil && test.Event == "s3:TestEvent" {
			h.log.Info("batch: S3 test event (sent when the notification is configured); nothing to score")
			return nil
		}
		return fmt.Errorf("message body is not an S3 notification (%.200s)", body)
	}
	return h.scoreS3(ctx, &e)
}

// scoreS3 scores every object-created record. Records of other kinds and
// keys outside the input prefix (the function's own output, when the
// notification is not filtered) are skipped with a warning: retrying them
// could never succeed.
func (h *Handler) scoreS3(ctx context.Context, e *events.S3Event) error {
	var errs []error
	for _, r := range e.Records {
		bucket, key := r.S3.Bucket.Name, r.S3.Object.URLDecodedKey // S3 form-encodes keys: '+' is a space
		if !strings.HasPrefix(r.EventName, "ObjectCreated:") {
			h.log.Warn("batch: not an object-created event; skipped", "event", r.EventName, "bucket", bucket, "key", key)
			continue
		}
		if h.batchBucket != "" && bucket != h.batchBucket {
			errs = append(errs, fmt.Errorf("s3://%s/%s: event from another bucket than the batch bucket %q", bucket, key, h.batchBucket))
			continue
		}
		h.log.Info("batch: scoring", "bucket", bucket, "key", key, "bytes", r.S3.Object.Size)
		err := h.app.ScoreObject(ctx, functions.Object{Bucket: bucket, Key: key, Size: r.S3.Object.Size, ETag: r.S3.Object.ETag})
		switch {
		case errors.Is(err, batch.ErrNotInput):
			h.log.Warn("batch: object outside the input prefix; skipped", "bucket", bucket, "key", key, "err", err)
		case errors.Is(err, batch.ErrGone):
			h.log.Warn("batch: the object is gone (deleted since the event); skipped", "bucket", bucket, "key", key)
		case batch.Permanent(err):
			h.log.Error("batch: the object cannot be scored; not retried", "bucket", bucket, "key", key, "err", err)
		case err != nil:
			errs = append(errs, fmt.Errorf("s3://%s/%s: %w", bucket, key, err))
		}
	}
	return errors.Join(errs...)
}
