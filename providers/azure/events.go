package azure

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// BlobCreated is the Event Grid event type Blob Storage sends when a blob
// has been written.
const BlobCreated = "Microsoft.Storage.BlobCreated"

// storageEvent is a Blob Storage event in the Event Grid schema
// (eventType) or the CloudEvents 1.0 schema (type); both carry the same
// subject and data.
type storageEvent struct {
	Type      string      `json:"type"`
	EventType string      `json:"eventType"`
	Subject   string      `json:"subject"`
	Data      storageData `json:"data"`
}

type storageData struct {
	API           string `json:"api"`
	ETag          string `json:"eTag"`
	ContentLength int64  `json:"contentLength"`
}

// blobEvent finds the event in an invocation: the queue trigger hands the
// queue message over as a JSON string (Event Grid's storage-queue delivery
// writes the event's JSON, or its base64 when so configured); an Event
// Grid trigger hands the event over as an object.
func blobEvent(inv *InvokeRequest) (*storageEvent, error) {
	raw, err := triggerValue(inv)
	if err != nil {
		return nil, err
	}
	body := bytes.TrimSpace(raw)
	var s string
	if len(body) > 0 && body[0] == '"' {
		if err := json.Unmarshal(body, &s); err != nil {
			return nil, fmt.Errorf("event: %w", err)
		}
		body = bytes.TrimSpace([]byte(s))
		if len(body) > 0 && body[0] != '{' && body[0] != '[' {
			dec, err := base64.StdEncoding.DecodeString(string(body))
			if err != nil {
				return nil, fmt.Errorf("event: neither JSON nor base64: %.80q", s)
			}
			body = bytes.TrimSpace(dec)
		}
	}
	if len(body) > 0 && body[0] == '[' {
		var evs []json.RawMessage
		if err := json.Unmarshal(body, &evs); err != nil {
			return nil, fmt.Errorf("event: %w", err)
		}
		if len(evs) != 1 {
			return nil, fmt.Errorf("event: want one event per message, got %d", len(evs))
		}
		body = evs[0]
	}
	var ev storageEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	if ev.Type == "" {
		ev.Type = ev.EventType
	}
	if ev.Type == "" {
		return nil, fmt.Errorf("event: no type or eventType: %.200s", body)
	}
	return &ev, nil
}

// triggerValue is the trigger's entry of Data: "event", or the only entry.
func triggerValue(inv *InvokeRequest) (json.RawMessage, error) {
	if v, ok := inv.Data["event"]; ok {
		return v, nil
	}
	if len(inv.Data) == 1 {
		for _, v := range inv.Data {
			return v, nil
		}
	}
	keys := make([]string, 0, len(inv.Data))
	for k := range inv.Data {
		keys = append(keys, k)
	}
	return nil, fmt.Errorf("invocation Data has no trigger value \"event\" (keys: %v)", keys)
}

// skip says why an event announces no complete blob ("" when it does). A
// file created through the Data Lake API first sends CreateFile for an
// empty file and then FlushWithClose once written: only the latter counts.
func (e *storageEvent) skip() string {
	switch {
	case e.Type != BlobCreated:
		return e.Type + " events are not scored"
	case e.Data.API == "CreateFile":
		return "CreateFile announces an empty file; it is scored on FlushWithClose"
	}
	return ""
}

// blob is the container and blob name the event's subject names:
// /blobServices/default/containers/CONTAINER/blobs/NAME.
func (e *storageEvent) blob() (container, name string, err error) {
	rest, ok := strings.CutPrefix(e.Subject, "/blobServices/default/containers/")
	if ok {
		if c, n, ok := strings.Cut(rest, "/blobs/"); ok && c != "" && n != "" {
			return c, n, nil
		}
	}
	return "", "", fmt.Errorf("event: subject %q names no blob (want /blobServices/default/containers/C/blobs/NAME)", e.Subject)
}
