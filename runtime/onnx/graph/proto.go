package graph

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/modelfn/modelfn/runtime/onnx/onnxpb"
)

// FromProto converts a decoded TensorProto. Every declared size is checked
// against the data actually present, so a file cannot make this allocate
// more than it carries.
func FromProto(p *onnxpb.Tensor) (*Tensor, error) {
	if p.External {
		return nil, fmt.Errorf("tensor %q: data stored in an external file is not supported", p.Name)
	}
	if p.Segmented {
		return nil, fmt.Errorf("tensor %q: segmented tensors are not supported", p.Name)
	}
	shape := make([]int, len(p.Dims))
	for i, d := range p.Dims {
		if d < 0 || d > MaxElements {
			return nil, fmt.Errorf("tensor %q: dimension %d is %d", p.Name, i, d)
		}
		shape[i] = int(d)
	}
	n, err := Numel(shape)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", p.Name, err)
	}
	dt := DataType(p.DataType)
	t := &Tensor{Type: dt, Shape: shape}
	bad := func(have int) error {
		return fmt.Errorf("tensor %q: shape %v needs %d %v values, the file has %d", p.Name, shape, n, dt, have)
	}
	raw := p.RawData
	switch dt {
	case Float:
		if p.HasRaw {
			if len(raw) != 4*n {
				return nil, bad(len(raw) / 4)
			}
			t.F32 = make([]float32, n)
			for i := range t.F32 {
				t.F32[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		} else {
			if len(p.FloatData) != n {
				return nil, bad(len(p.FloatData))
			}
			t.F32 = p.FloatData
		}
	case Double:
		if p.HasRaw {
			if len(raw) != 8*n {
				return nil, bad(len(raw) / 8)
			}
			t.F64 = make([]float64, n)
			for i := range t.F64 {
				t.F64[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
			}
		} else {
			if len(p.DoubleData) != n {
				return nil, bad(len(p.DoubleData))
			}
			t.F64 = p.DoubleData
		}
	case Int32:
		if p.HasRaw {
			if len(raw) != 4*n {
				return nil, bad(len(raw) / 4)
			}
			t.I32 = make([]int32, n)
			for i := range t.I32 {
				t.I32[i] = int32(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		} else {
			if len(p.Int32Data) != n {
				return nil, bad(len(p.Int32Data))
			}
			t.I32 = p.Int32Data
		}
	case Int64:
		if p.HasRaw {
			if len(raw) != 8*n {
				return nil, bad(len(raw) / 8)
			}
			t.I64 = make([]int64, n)
			for i := range t.I64 {
				t.I64[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
			}
		} else {
			if len(p.Int64Data) != n {
				return nil, bad(len(p.Int64Data))
			}
			t.I64 = p.Int64Data
		}
	case Bool:
		t.Bool = make([]bool, 0, min(n, len(raw)+len(p.Int32Data)))
		if p.HasRaw {
			if len(raw) != n {
				return nil, bad(len(raw))
			}
			for _, b := range raw {
				t.Bool = append(t.Bool, b != 0)
			}
		} else {
			if len(p.Int32Data) != n {
				return nil, bad(len(p.Int32Data))
			}
			for _, b := range p.Int32Data {
				t.Bool = append(t.Bool, b != 0)
			}
		}
	case String:
		if len(p.StringData) != n {
			return nil, bad(len(p.StringData))
		}
		t.Str = make([]string, n)
		for i, s := range p.StringData {
			t.Str[i] = string(s)
		}
	default:
		return nil, fmt.Errorf("tensor %q: element type %v is not supported", p.Name, dt)
	}
	return t, nil
}

// protoInts reads an integer tensor of any width (attributes such as
// TreeEnsemble's uint8 nodes_modes) as int64 values.
func protoInts(p *onnxpb.Tensor) ([]int64, error) {
	size := map[int32]int{2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 12: 4}[p.DataType]
	if size == 0 {
		return nil, fmt.Errorf("tensor %q: %v is not an integer type", p.Name, DataType(p.DataType))
	}
	signed := p.DataType == 3 || p.DataType == 5 || p.DataType == 6 || p.DataType == 7
	if !p.HasRaw {
		if p.DataType == 7 {
			return p.Int64Data, nil
		}
		out := make([]int64, len(p.Int32Data))
		for i, v := range p.Int32Data {
			out[i] = int64(v)
		}
		return out, nil
	}
	if len(p.RawData)%size != 0 {
		return nil, fmt.Errorf("tensor %q: %d raw bytes for %d-byte values", p.Name, len(p.RawData), size)
	}
	out := make([]int64, len(p.RawData)/size)
	for i := range out {
		b := p.RawData[i*size : (i+1)*size]
		var u uint64
		for j := size - 1; j >= 0; j-- {
			u = u<<8 | uint64(b[j])
		}
		v := int64(u)
		if signed && size < 8 && u&(1<<(8*size-1)) != 0 {
			v -= 1 << (8 * size)
		}
		out[i] = v
	}
	return out, nil
}
