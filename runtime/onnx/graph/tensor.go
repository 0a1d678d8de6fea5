package graph

import (
	"fmt"
	"math"
)

// DataType is an element type, numbered as TensorProto.DataType.
type DataType int32

// Element types the executor holds. Others (float16, unsigned and small
// integers, complex) are refused where they appear.
const (
	Undefined DataType = 0
	Float     DataType = 1
	Int32     DataType = 6
	Int64     DataType = 7
	String    DataType = 8
	Bool      DataType = 9
	Double    DataType = 11

	// SeqMapString and SeqMapInt64 are ZipMap's seq(map(string|int64,
	// float)) outputs, held as the probability matrix (F32, one row per
	// map) and the keys (Keys, KeysI64) shared by every row.
	SeqMapString DataType = -1
	SeqMapInt64  DataType = -2
)

var typeNames = map[DataType]string{
	Undefined: "undefined", Float: "float", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16",
	Int32: "int32", Int64: "int64", String: "string", Bool: "bool", 10: "float16",
	Double: "double", 12: "uint32", 13: "uint64", 14: "complex64", 15: "complex128", 16: "bfloat16",
	SeqMapString: "seq(map(string,float))", SeqMapInt64: "seq(map(int64,float))",
}

func (d DataType) String() string {
	if s, ok := typeNames[d]; ok {
		return s
	}
	return fmt.Sprintf("type%d", int32(d))
}

// Supported reports whether the executor holds values of this type.
func (d DataType) Supported() bool {
	switch d {
	case Float, Double, Int32, Int64, String, Bool, SeqMapString, SeqMapInt64:
		return true
	}
	return false
}

// MaxElements bounds every tensor the executor makes, so that a hostile
// model (ConstantOfShape of [1e12], an Expand to an absurd shape) is refused
// with an error instead of exhausting memory.
const MaxElements = 1 << 25

// Tensor is a dense tensor. Only the slice matching Type is used; the
// others keep their memory for reuse when the tensor is refilled.
type Tensor struct {
	Type  DataType
	Shape []int
	F32   []float32
	F64   []float64
	I32   []int32
	I64   []int64
	Str   []string
	Bool  []bool
	// Keys and KeysI64 label the columns of a ZipMap output.
	Keys    []string
	KeysI64 []int64
}

// Len is the number of elements.
func (t *Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Rank is the number of dimensions.
func (t *Tensor) Rank() int { return len(t.Shape) }

// Numel multiplies dims, refusing negative dims and products over
// MaxElements.
func Numel(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, shapeError("negative dimension in shape", shape)
		}
		if d != 0 && n > MaxElements/d {
			return 0, shapeError(fmt.Sprintf("more than %d elements in shape", MaxElements), shape)
		}
		n *= d
	}
	return n, nil
}

// shapeError copies the shape it reports, so that callers' shape slices
// do not escape to the heap on the success path.
func shapeError(msg string, shape []int) error {
	return fmt.Errorf("%s %v", msg, append([]int(nil), shape...))
}

// Resize makes t a tensor of type dt and the given shape, reusing its
// memory. The contents are unspecified (zero for new memory).
func (t *Tensor) Resize(dt DataType, shape ...int) error {
	n, err := Numel(shape)
	if err != nil {
		return err
	}
	t.Type = dt
	t.Shape = append(t.Shape[:0], shape...)
	switch dt {
	case Float, SeqMapString, SeqMapInt64:
		t.F32 = grow(t.F32, n)
	case Double:
		t.F64 = grow(t.F64, n)
	case Int32:
		t.I32 = grow(t.I32, n)
	case Int64:
		t.I64 = grow(t.I64, n)
	case String:
		t.Str = grow(t.Str, n)
	case Bool:
		t.Bool = grow(t.Bool, n)
	default:
		return fmt.Errorf("element type %v is not supported", dt)
	}
	return nil
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// elem is every Go type a tensor holds.
type elem interface {
	float32 | float64 | int32 | int64 | string | bool
}

// number is every numeric element type.
type number interface {
	float32 | float64 | int32 | int64
}

type float interface{ float32 | float64 }

// data returns the slice of t that holds T.
func data[T elem](t *Tensor) []T {
	var z T
	switch any(z).(type) {
	case float32:
		return any(t.F32).([]T)
	case float64:
		return any(t.F64).([]T)
	case int32:
		return any(t.I32).([]T)
	case int64:
		return any(t.I64).([]T)
	case string:
		return any(t.Str).([]T)
	default:
		return any(t.Bool).([]T)
	}
}

func typeOf[T elem]() DataType {
	var z T
	switch any(z).(type) {
	case float32:
		return Float
	case float64:
		return Double
	case int32:
		return Int32
	case int64:
		return Int64
	case string:
		return String
	default:
		return Bool
	}
}

// alloc resizes t to hold T in the given shape and returns its data.
func alloc[T elem](t *Tensor, shape []int) ([]T, error) {
	if err := t.Resize(typeOf[T](), shape...); err != nil {
		return nil, err
	}
	return data[T](t), nil
}

// Clone copies t into fresh memory.
func (t *Tensor) Clone() *Tensor {
	c := &Tensor{Type: t.Type, Shape: append([]int{}, t.Shape...)}
	n := t.Len()
	switch t.Type {
	case Float, SeqMapString, SeqMapInt64:
		c.F32 = append([]float32{}, t.F32[:n]...)
		c.Keys = append([]string(nil), t.Keys...)
		c.KeysI64 = append([]int64(nil), t.KeysI64...)
	case Double:
		c.F64 = append([]float64{}, t.F64[:n]...)
	case Int32:
		c.I32 = append([]int32{}, t.I32[:n]...)
	case Int64:
		c.I64 = append([]int64{}, t.I64[:n]...)
	case String:
		c.Str = append([]string{}, t.Str[:n]...)
	case Bool:
		c.Bool = append([]bool{}, t.Bool[:n]...)
	}
	return c
}

// Float64s returns the elements of a numeric or bool tensor as float64.
func (t *Tensor) Float64s() ([]float64, error) {
	n := t.Len()
	out := make([]float64, n)
	switch t.Type {
	case Float, SeqMapString, SeqMapInt64:
		for i, v := range t.F32[:n] {
			out[i] = float64(v)
		}
	case Double:
		copy(out, t.F64[:n])
	case Int32:
		for i, v := range t.I32[:n] {
			out[i] = float64(v)
		}
	case Int64:
		for i, v := range t.I64[:n] {
			out[i] = float64(v)
		}
	case Bool:
		for i, v := range t.Bool[:n] {
			if v {
				out[i] = 1
			}
		}
	default:
		return nil, fmt.Errorf("%v tensor is not numeric", t.Type)
	}
	return out, nil
}

// NewFloat makes a float tensor; the other constructors likewise.
func NewFloat(shape []int, v []float32) *Tensor {
	return &Tensor{Type: Float, Shape: shape, F32: v}
}

// NewDouble makes a double tensor.
func NewDouble(shape []int, v []float64) *Tensor {
	return &Tensor{Type: Double, Shape: shape, F64: v}
}

// NewInt64 makes an int64 tensor.
func NewInt64(shape []int, v []int64) *Tensor {
	return &Tensor{Type: Int64, Shape: shape, I64: v}
}

// NewString makes a string tensor.
func NewString(shape []int, v []string) *Tensor {
	return &Tensor{Type: String, Shape: shape, Str: v}
}

// scalarInt reads a one-element integer tensor.
func scalarInt(t *Tensor) (int64, error) {
	if t.Len() != 1 {
		return 0, fmt.Errorf("expected one value, got shape %v", t.Shape)
	}
	switch t.Type {
	case Int64:
		return t.I64[0], nil
	case Int32:
		return int64(t.I32[0]), nil
	}
	return 0, fmt.Errorf("expected an integer, got %v", t.Type)
}

// ints reads an int64 or int32 tensor as ints.
func ints(t *Tensor) ([]int64, error) {
	n := t.Len()
	switch t.Type {
	case Int64:
		return t.I64[:n], nil
	case Int32:
		out := make([]int64, n)
		for i, v := range t.I32[:n] {
			out[i] = int64(v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("expected an integer tensor, got %v", t.Type)
}

// castFloat converts between numeric element types with C's rules where Go
// leaves them implementation-defined (NaN and overflow to integers).
func toInt64(f float64) int64 {
	if math.IsNaN(f) || f >= 9.223372036854775807e18 || f < -9.223372036854775808e18 {
		return math.MinInt64
	}
	return int64(f)
}

func toInt32(f float64) int32 {
	if math.IsNaN(f) || f >= 2147483648 || f < -2147483648 {
		return math.MinInt32
	}
	return int32(f)
}
