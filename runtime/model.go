// Package runtime is the provider-agnostic model runtime: the Model
// interface every format implements, the format registry, the feature
// schema, and the rows (Batch) that flow from request decoding into a model.
//
// Formats register themselves from an import, as image/png does:
//
//	import _ "github.com/modelfn/modelfn/runtime/xgboost"
package runtime

import (
	"context"
	"fmt"
	"sort"
	"sync"
)

// Task is what a model predicts.
type Task string

const (
	Classification Task = "classification"
	Regression     Task = "regression"
)

// Info describes a loaded model's output.
type Info struct {
	Format string
	Task   Task
	// Classes names the output columns of a classifier, in output order.
	Classes []string
	// Outputs is the width of one output row: len(Classes) class
	// probabilities for a classifier, 1 for a regressor.
	Outputs int
}

// Model scores a batch of rows. Implementations must be safe for concurrent
// use, must not retain in or out after returning, and must never panic on
// any input that passed schema validation.
type Model interface {
	Info() Info
	// Predict writes in.Rows*Info().Outputs values into out, row-major.
	Predict(ctx context.Context, in *Batch, out []float64) error
}

// Spec is what a format needs to know besides the model file: the feature
// schema (so inputs can be mapped by name) and, from the bundle, the task and
// class names the file itself may not record.
type Spec struct {
	Schema  *Schema
	Task    Task
	Classes []string
}

// Opener builds a Model from a model file's bytes. It must refuse, with an
// error naming what is wrong, anything it cannot run, so that no unsupported
// model reaches prediction time.
type Opener func(data []byte, spec Spec) (Model, error)

var (
	mu      sync.RWMutex
	formats = map[string]Opener{}
)

// Register makes a format available to Open. It panics on a duplicate name,
// which is a programming error caught at init.
func Register(format string, open Opener) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := formats[format]; dup {
		panic("runtime: format registered twice: " + format)
	}
	formats[format] = open
}

// Formats lists the registered format names, sorted.
func Formats() []string {
	mu.RLock()
	defer mu.RUnlock()
	names := make([]string, 0, len(formats))
	for n := range formats {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Open loads a model of the named format.
func Open(format string, data []byte, spec Spec) (m Model, err error) {
	mu.RLock()
	open, ok := formats[format]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("unknown model format %q (known: %v)", format, Formats())
	}
	// A loader is parsing untrusted bytes; no panic may cross this boundary.
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("%s model: malformed: %v", format, r)
		}
	}()
	return open(data, spec)
}
