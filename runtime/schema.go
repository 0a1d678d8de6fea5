package runtime

import (
	"fmt"
	"math"
)

// FeatureType is how a feature's values are read and compared.
type FeatureType string

const (
	Numeric     FeatureType = "numeric"
	Categorical FeatureType = "categorical"
)

// Feature is one model input as the bundle describes it. Min, Max and
// Categories are what the reference data held: values outside them are
// accepted and scored (the model decides), and counted as data-quality
// issues by the monitor, unless the schema is Strict.
type Feature struct {
	Name       string      `yaml:"name" json:"name"`
	Type       FeatureType `yaml:"type" json:"type"`
	Min        *float64    `yaml:"min,omitempty" json:"min,omitempty"`
	Max        *float64    `yaml:"max,omitempty" json:"max,omitempty"`
	Categories []string    `yaml:"categories,omitempty" json:"categories,omitempty"`
	// Nullable accepts a missing value (JSON null, an empty CSV field); the
	// model sees NaN. Inferred from whether the reference data had any.
	Nullable bool `yaml:"nullable,omitempty" json:"nullable,omitempty"`
}

// Schema is the ordered feature list a model reads.
type Schema struct {
	Features []Feature
	// Strict refuses out-of-range numbers and unseen categories instead of
	// scoring them.
	Strict bool

	index    map[string]int
	plain    []bool // names that JSON writes as they are
	catIndex []map[string]int
	hasCat   bool
}

// NewSchema checks the features (names unique and non-empty, types known)
// and indexes them.
func NewSchema(features []Feature, strict bool) (*Schema, error) {
	if len(features) == 0 {
		return nil, fmt.Errorf("schema: no features")
	}
	s := &Schema{Features: features, Strict: strict, index: make(map[string]int, len(features)), catIndex: make([]map[string]int, len(features))}
	for i, f := range features {
		if f.Name == "" {
			return nil, fmt.Errorf("schema: feature %d has no name", i)
		}
		if _, dup := s.index[f.Name]; dup {
			return nil, fmt.Errorf("schema: feature %q appears twice", f.Name)
		}
		s.index[f.Name] = i
		s.plain = append(s.plain, plainName(f.Name))
		switch f.Type {
		case Numeric:
			if f.Min != nil && f.Max != nil && *f.Min > *f.Max {
				return nil, fmt.Errorf("schema: feature %q: min %v > max %v", f.Name, *f.Min, *f.Max)
			}
		case Categorical:
			s.hasCat = true
			m := make(map[string]int, len(f.Categories))
			for j, c := range f.Categories {
				m[c] = j
			}
			s.catIndex[i] = m
		default:
			return nil, fmt.Errorf("schema: feature %q: type %q is not numeric or categorical", f.Name, f.Type)
		}
	}
	return s, nil
}

// Width is the number of features.
func (s *Schema) Width() int { return len(s.Features) }

// Index returns the position of the named feature.
func (s *Schema) Index(name string) (int, bool) {
	i, ok := s.index[name]
	return i, ok
}

// HasCategorical reports whether any feature is categorical.
func (s *Schema) HasCategorical() bool { return s.hasCat }

// Names lists the feature names in order.
func (s *Schema) Names() []string {
	out := make([]string, len(s.Features))
	for i, f := range s.Features {
		out[i] = f.Name
	}
	return out
}

// categoryCode is the position of v in the feature's reference categories,
// or -1 when the category is unseen.
func (s *Schema) categoryCode(col int, v string) int {
	if j, ok := s.catIndex[col][v]; ok {
		return j
	}
	return -1
}

func (f *Feature) inRange(v float64) bool {
	return (f.Min == nil || v >= *f.Min) && (f.Max == nil || v <= *f.Max)
}

// NaN is the missing value the runtime hands to models.
var NaN = math.NaN()
