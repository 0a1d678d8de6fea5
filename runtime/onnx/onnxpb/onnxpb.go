// Package onnxpb decodes the parts of an ONNX model file (onnx.proto,
// IR version 3 and later) that an inference engine needs: opset imports,
// the graph, its nodes, attributes, initializers and value types.
//
// It is hand-written over protowire rather than generated: the generated
// types pull the reflection runtime into every Lambda binary, and decoding by
// hand lets every length be checked against the bytes that remain, so a
// hostile file can make the decoder allocate at most in proportion to its
// own size. Unknown fields are skipped, as protobuf requires.
package onnxpb

import (
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Model is a ModelProto.
type Model struct {
	IRVersion       int64
	ProducerName    string
	ProducerVersion string
	Opsets          []OpsetID
	Graph           *Graph
	// Functions counts model-local functions (FunctionProto), which this
	// decoder does not read; a node calling one is an unknown operator.
	Functions int
}

// OpsetID is an OperatorSetIdProto: an operator domain and its version.
type OpsetID struct {
	Domain  string
	Version int64
}

// Graph is a GraphProto.
type Graph struct {
	Name         string
	Nodes        []*Node
	Initializers []*Tensor
	// SparseInitializers counts sparse_initializer entries, which are not
	// decoded.
	SparseInitializers int
	Inputs             []*ValueInfo
	Outputs            []*ValueInfo
	ValueInfo          []*ValueInfo
}

// Node is a NodeProto. An empty input or output name marks an optional
// argument that is absent.
type Node struct {
	Name    string
	OpType  string
	Domain  string
	Inputs  []string
	Outputs []string
	Attrs   []*Attribute
}

// AttrType is AttributeProto.AttributeType.
type AttrType int32

// Attribute types, as numbered in onnx.proto.
const (
	AttrUndefined    AttrType = 0
	AttrFloat        AttrType = 1
	AttrInt          AttrType = 2
	AttrString       AttrType = 3
	AttrTensor       AttrType = 4
	AttrGraph        AttrType = 5
	AttrFloats       AttrType = 6
	AttrInts         AttrType = 7
	AttrStrings      AttrType = 8
	AttrTensors      AttrType = 9
	AttrGraphs       AttrType = 10
	AttrSparseTensor AttrType = 11
	AttrSparse       AttrType = 12
	AttrTypeProto    AttrType = 13
	AttrTypeProtos   AttrType = 14
)

var attrTypeNames = map[AttrType]string{
	AttrUndefined: "UNDEFINED", AttrFloat: "FLOAT", AttrInt: "INT", AttrString: "STRING",
	AttrTensor: "TENSOR", AttrGraph: "GRAPH", AttrFloats: "FLOATS", AttrInts: "INTS",
	AttrStrings: "STRINGS", AttrTensors: "TENSORS", AttrGraphs: "GRAPHS",
	AttrSparseTensor: "SPARSE_TENSOR", AttrSparse: "SPARSE_TENSORS",
	AttrTypeProto: "TYPE_PROTO", AttrTypeProtos: "TYPE_PROTOS",
}

func (t AttrType) String() string {
	if s, ok := attrTypeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("AttrType(%d)", int32(t))
}

// Attribute is an AttributeProto. Only the field its Type names is
// meaningful; the decoder infers Type from the fields present when a
// producer left it unset (IR version 1 files).
type Attribute struct {
	Name        string
	RefAttrName string // set inside function bodies only
	Type        AttrType
	F           float32
	I           int64
	S           []byte
	T           *Tensor
	G           *Graph
	Floats      []float32
	Ints        []int64
	Strings     [][]byte
	Tensors     []*Tensor
	Graphs      []*Graph
	// Sparse counts sparse tensors and type protos, which are not decoded.
	Sparse int
}

// Tensor is a TensorProto. Exactly one of the data fields is used, as
// DataType and onnx.proto say; RawData takes precedence when present.
type Tensor struct {
	Name       string
	Dims       []int64
	DataType   int32
	FloatData  []float32
	Int32Data  []int32
	StringData [][]byte
	Int64Data  []int64
	DoubleData []float64
	Uint64Data []uint64
	RawData    []byte
	HasRaw     bool
	// External is set when the data lives in another file
	// (data_location EXTERNAL), which a single-file loader cannot follow.
	External bool
	// Segmented is set when the tensor is one segment of a larger one.
	Segmented bool
}

// ValueInfo is a ValueInfoProto.
type ValueInfo struct {
	Name string
	Type *Type // nil when the producer left the type out
}

// TypeKind says which member of TypeProto's oneof is set.
type TypeKind int

// Type kinds.
const (
	KindUnknown TypeKind = iota
	KindTensor
	KindSequence
	KindMap
	KindOptional
	KindSparseTensor
)

// Type is a TypeProto.
type Type struct {
	Kind TypeKind
	// ElemType is the element data type of a tensor or sparse tensor.
	ElemType int32
	// Shape is nil when the rank is unknown.
	Shape []Dim
	// Elem is the element type of a sequence or optional, the value type of
	// a map.
	Elem *Type
	// KeyType is a map's key data type.
	KeyType int32
}

// Dim is one dimension of a shape: a value, a symbolic name, or neither.
type Dim struct {
	Value    int64
	HasValue bool
	Param    string
}

// Decode limits: nesting (graphs inside attributes inside nodes, types
// inside types) is bounded so a crafted file cannot exhaust the stack.
const maxDepth = 32

// ErrTruncated is wrapped by errors about bytes that end inside a field.
var ErrTruncated = errors.New("truncated protobuf")

// DecodeModel parses a ModelProto.
func DecodeModel(b []byte) (*Model, error) {
	m := &Model{}
	err := each(b, func(num protowire.Number, typ protowire.Type, v field) error {
		switch num {
		case 1:
			return v.int64(typ, &m.IRVersion)
		case 2:
			return v.str(typ, &m.ProducerName)
		case 3:
			return v.str(typ, &m.ProducerVersion)
		case 7:
			msg, err := v.msg(typ)
			if err != nil {
				return err
			}
			if m.Graph != nil {
				return fmt.Errorf("graph given twice")
			}
			m.Graph, err = decodeGraph(msg, 1)
			return err
		case 8:
			msg, err := v.msg(typ)
			if err != nil {
				return err
			}
			op, err := decodeOpset(msg)
			if err != nil {
				return fmt.Errorf("opset_import: %w", err)
			}
			m.Opsets = append(m.Opsets, op)
		case 25:
			if _, err := v.msg(typ); err != nil {
				return err
			}
			m.Functions++
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("onnx model: %w", err)
	}
	return m, nil
}

// DecodeTensor parses a TensorProto, as the ONNX backend tests store their
// inputs and outputs.
func DecodeTensor(b []byte) (*Tensor, error) {
	t, err := decodeTensor(b)
	if err != nil {
		return nil, fmt.Errorf("onnx tensor: %w", err)
	}
	return t, nil
}

func decodeOpset(b []byte) (OpsetID, error) {
	var op OpsetID
	err := each(b, func(num protowire.Number, typ protowire.Type, v field) error {
		switch num {
		case 1:
			return v.str(typ, &op.Domain)
		case 2:
			return v.int64(typ, &op.Version)
		}
		return nil
	})
	return op, err
}

func decodeGraph(b []byte, depth int) (*Graph, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("graphs nested deeper than %d", maxDepth)
	}
	g := &Graph{}
	err := each(b, func(num protowire.Number, typ protowire.Type, v field) error {
		if num == 2 {
			return v.str(typ, &g.Name)
		}
		if num != 1 && num != 5 && num != 11 && num != 12 && num != 13 && num != 15 {
			return nil
		}
		msg, err := v.msg(typ)
		if err != nil {
			return err
		}
		switch num {
		case 1:
			n, err := decodeNode(msg, depth)
			if err != nil {
				return fmt.Errorf("node %d: %w", len(g.Nodes), err)
			}
			g.Nodes = append(g.Nodes, n)
		case 5:
			t, err := decodeTensor(msg)
			if err != nil {
				return fmt.Errorf("initializer %d: %w", len(g.Initializers), err)
			}
			g.Initializers = append(g.Initializers, t)
		case 15:
			g.SparseInitializers++
		case 11, 12, 13:
			vi, err := decodeValueInfo(msg, depth)
			if err != nil {
				return fmt.Errorf("value info: %w", err)
			}
			switch num {
			case 11:
				g.Inputs = append(g.Inputs, vi)
			case 12:
				g.Outputs = append(g.Outputs, vi)
			default:
				g.ValueInfo = append(g.ValueInfo, vi)
			}
		}
		return nil
	})
	if err != nil {
		if g.Name != "" {
			return nil, fmt.Errorf("graph %q: %w", g.Name, err)
		}
		return nil, fmt.Errorf("graph: %w", err)
	}
	return g, nil
}

func decodeNode(b []byte, depth int) (*Node, error) {
	n := &Node{}
	err := each(b, func(num protowire.Number, typ protowire.Type, v field) error {
		switch num {
		case 1:
			var s string
			if err := v.str(typ, &s); err != nil {
				return err
			}
			n.Inputs = append(n.Inputs, s)
		case 2:
			var s string
			if err := v.str(typ, &s); err != nil {
				return err
			}
			n.Outputs = append(n.Outputs, s)
		case 3:
			return v.str(typ, &n.Name)
		case 4:
			return v.str(typ, &n.OpType)
		case 7:
			return v.str(typ, &n.Domain)
		case 5:
			msg, err := v.msg(typ)
			if err != nil {
				return err
			}
			a, err := decodeAttribute(msg, depth)
			if err != nil {
				return fmt.Errorf("attribute %d: %w", len(n.Attrs), err)
			}
			n.Attrs = append(n.Attrs, a)
		}
		return nil
	})
	if err != nil && n.OpType != "" {
		return nil, fmt.Errorf("%s: %w", n.OpType, err)
	}
	return n, err
}

func decodeAttribute(b []byte, depth int) (*Attribute, error) {
	a := &Attribute{}
	typeSet := false
	err := each(b, func(num protowire.Number, typ protowire.Type, v field) error {
		switch num {
		case 1:
			return v.str(typ, &a.Name)
		case 21:
			return v.str(typ, &a.RefAttrName)
		case 20:
			var t int64
			if err := v.int64(typ, &t); err != nil {
				return err
			}
			a.Type, typeSet = AttrType(t), true
		case 2:
			return v.float32(typ, &a.F)
		case 3:
			return v.int64(typ, &a.I)
		case 4:
			s, err := v.bytes(typ)
			a.S = s
			return err
		case 5:
			msg, err := v.msg(typ)
			if err != nil {
				return err
			}
			a.T, err = decodeTensor(msg)
			return err
		case 6:
			msg, err := v.msg(typ)
			if err != nil {
				return err
			}
			a.G, err = decodeGraph(msg, depth+1)
			return err
		case 7:
			return v.float32s(typ, &a.Floats)
		case 8:
			return v.int64s(typ, &a.Ints)
		case 9:
			s, err := v.bytes(typ)
			if err != nil {
				return err
			}
			a.Strings = append(a.Strings, s)
		case 10:
			msg, err := v.msg(typ)
			if err != nil {
				return err
			}
			t, err := decodeTensor(msg)
			if err != nil {
				return err
			}
			a.Tensors = append(a.Tensors, t)
		case 11:
			msg, err := v.msg(typ)
			if err != nil {
				return err
			}
			g, err := decodeGraph(msg, depth+1)
			if err != nil {
				return err
			}
			a.Graphs = append(a.Graphs, g)
		case 22, 23, 14, 15:
			if _, err := v.msg(typ); err != nil {
				return err
			}
			a.Sparse++
		}
		return nil
	})
	if err != nil {
		if a.Name != "" {
			return nil, fmt.Errorf("%q: %w", a.Name, err)
		}
		return nil, err
	}
	if !typeSet {
		a.Type = a.inferType()
	}
	return a, nil
}

// inferType guesses the type of an attribute written without one.
func (a *Attribute) inferType() AttrType {
	switch {
	case a.T != nil:
		return AttrTensor
	case a.G != nil:
		return AttrGraph
	case len(a.Floats) > 0:
		return AttrFloats
	case len(a.Ints) > 0:
		return AttrInts
	case len(a.Strings) > 0:
		return AttrStrings
	case len(a.Tensors) > 0:
		return AttrTensors
	case len(a.Graphs) > 0:
		return AttrGraphs
	case a.S != nil:
		return AttrString
	case a.F != 0:
		return AttrFloat
	}
	return AttrInt
}

func decodeTensor(b []byte) (*Tensor, error) {
	t := &Tensor{}
	err := each(b, func(num protowire.Number, typ protowire.Type, v field) error {
		switch num {
		case 1:
			return v.int64s(typ, &t.Dims)
		case 2:
			var d int64
			if err := v.int64(typ, &d); err != nil {
				return err
			}
			if d < math.MinInt32 || d > math.MaxInt32 {
				return fmt.Errorf("data_type %d out of range", d)
			}
			t.DataType = int32(d)
		case 3:
			if _, err := v.msg(typ); err != nil {
				return err
			}
			t.Segmented = true
		case 4:
			return v.float32s(typ, &t.FloatData)
		case 5:
			return v.int32s(typ, &t.Int32Data)
		case 6:
			s, err := v.bytes(typ)
			if err != nil {
				return err
			}
			t.StringData = append(t.StringData, s)
		case 7:
			return v.int64s(typ, &t.Int64Data)
		case 8:
			return v.str(typ, &t.Name)
		case 9:
			s, err := v.bytes(typ)
			t.RawData, t.HasRaw = s, true
			return err
		case 10:
			return v.float64s(typ, &t.DoubleData)
		case 11:
			return v.uint64s(typ, &t.Uint64Data)
		case 13:
			if _, err := v.msg(typ); err != nil {
				return err
			}
			t.External = true
		case 14:
			var loc int64
			if err := v.int64(typ, &loc); err != nil {
				return err
			}
			if loc == 1 {
				t.External = true
			}
		}
		return nil
	})
	if err != nil {
		if t.Name != "" {
			return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
		}
		return nil, fmt.Errorf("tensor: %w", err)
	}
	return t, nil
}

func decodeValueInfo(b []byte, depth int) (*ValueInfo, error) {
	vi := &ValueInfo{}
	err := each(b, func(num protowire.Number, typ protowire.Type, v field) error {
		switch num {
		case 1:
			return v.str(typ, &vi.Name)
		case 2:
			msg, err := v.msg(typ)
			if err != nil {
				return err
			}
			vi.Type, err = decodeType(msg, depth)
			return err
		}
		return nil
	})
	if err != nil && vi.Name != "" {
		return nil, fmt.Errorf("%q: %w", vi.Name, err)
	}
	return vi, err
}

func decodeType(b []byte, depth int) (*Type, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("types nested deeper than %d", maxDepth)
	}
	t := &Type{}
	err := each(b, func(num protowire.Number, typ protowire.Type, v field) error {
		switch num {
		case 1, 8: // tensor_type, sparse_tensor_type
			msg, err := v.msg(typ)
			if err != nil {
				return err
			}
			t.Kind = KindTensor
			if num == 8 {
				t.Kind = KindSparseTensor
			}
			return decodeTensorType(msg, t)
		case 4, 9: // sequence_type, optional_type
			msg, err := v.msg(typ)
			if err != nil {
				return err
			}
			t.Kind = KindSequence
			if num == 9 {
				t.Kind = KindOptional
			}
			return each(msg, func(num protowire.Number, typ protowire.Type, v field) error {
				if num != 1 {
					return nil
				}
				m, err := v.msg(typ)
				if err != nil {
					return err
				}
				t.Elem, err = decodeType(m, depth+1)
				return err
			})
		case 5: // map_type
			msg, err := v.msg(typ)
			if err != nil {
				return err
			}
			t.Kind = KindMap
			return each(msg, func(num protowire.Number, typ protowire.Type, v field) error {
				switch num {
				case 1:
					var k int64
					if err := v.int64(typ, &k); err != nil {
						return err
					}
					t.KeyType = int32(k)
				case 2:
					m, err := v.msg(typ)
					if err != nil {
						return err
					}
					t.Elem, err = decodeType(m, depth+1)
					return err
				}
				return nil
			})
		}
		return nil
	})
	return t, err
}

func decodeTensorType(b []byte, t *Type) error {
	return each(b, func(num protowire.Number, typ protowire.Type, v field) error {
		switch num {
		case 1:
			var e int64
			if err := v.int64(typ, &e); err != nil {
				return err
			}
			t.ElemType = int32(e)
		case 2:
			msg, err := v.msg(typ)
			if err != nil {
				return err
			}
			t.Shape = []Dim{}
			return each(msg, func(num protowire.Number, typ protowire.Type, v field) error {
				if num != 1 {
					return nil
				}
				m, err := v.msg(typ)
				if err != nil {
					return err
				}
				var d Dim
				err = each(m, func(num protowire.Number, typ protowire.Type, v field) error {
					switch num {
					case 1:
						d.HasValue = true
						return v.int64(typ, &d.Value)
					case 2:
						return v.str(typ, &d.Param)
					}
					return nil
				})
				t.Shape = append(t.Shape, d)
				return err
			})
		}
		return nil
	})
}
