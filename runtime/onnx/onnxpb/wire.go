package onnxpb

import (
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// field is one decoded field value: a number for varint and fixed types,
// bytes for length-delimited ones. Every accessor checks the wire type.
type field struct {
	n uint64
	b []byte
}

// each calls fn for every field of the message in b, in order.
func each(b []byte, fn func(num protowire.Number, typ protowire.Type, v field) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return wireErr(n, "tag")
		}
		b = b[n:]
		var v field
		switch typ {
		case protowire.VarintType:
			v.n, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var x uint32
			x, n = protowire.ConsumeFixed32(b)
			v.n = uint64(x)
		case protowire.Fixed64Type:
			v.n, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			v.b, n = protowire.ConsumeBytes(b)
		default:
			// Groups (deprecated) and anything else: let protowire skip it.
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return wireErr(n, fmt.Sprintf("field %d", num))
		}
		b = b[n:]
		if typ == protowire.StartGroupType || typ == protowire.EndGroupType {
			continue
		}
		if err := fn(num, typ, v); err != nil {
			return err
		}
	}
	return nil
}

func wireErr(n int, what string) error {
	err := protowire.ParseError(n)
	if n == -1 { // errCodeTruncated
		return fmt.Errorf("%s: %w", what, ErrTruncated)
	}
	return fmt.Errorf("%s: %v", what, err)
}

func wantType(got, want protowire.Type) error {
	if got != want {
		return fmt.Errorf("wire type %d where %d belongs", got, want)
	}
	return nil
}

func (v field) int64(typ protowire.Type, out *int64) error {
	if err := wantType(typ, protowire.VarintType); err != nil {
		return err
	}
	*out = int64(v.n)
	return nil
}

func (v field) float32(typ protowire.Type, out *float32) error {
	if err := wantType(typ, protowire.Fixed32Type); err != nil {
		return err
	}
	*out = math.Float32frombits(uint32(v.n))
	return nil
}

func (v field) bytes(typ protowire.Type) ([]byte, error) {
	if err := wantType(typ, protowire.BytesType); err != nil {
		return nil, err
	}
	if v.b == nil {
		return []byte{}, nil
	}
	return v.b, nil
}

func (v field) str(typ protowire.Type, out *string) error {
	b, err := v.bytes(typ)
	*out = string(b)
	return err
}

func (v field) msg(typ protowire.Type) ([]byte, error) { return v.bytes(typ) }

// Repeated scalars arrive packed (one length-delimited run) or one value per
// field; both are accepted. A packed run's element count is bounded by its
// byte length, so no count read from the file sizes an allocation.

func (v field) int64s(typ protowire.Type, out *[]int64) error {
	if typ == protowire.VarintType {
		*out = append(*out, int64(v.n))
		return nil
	}
	if err := wantType(typ, protowire.BytesType); err != nil {
		return err
	}
	b := v.b
	for len(b) > 0 {
		x, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return wireErr(n, "packed varint")
		}
		*out = append(*out, int64(x))
		b = b[n:]
	}
	return nil
}

func (v field) int32s(typ protowire.Type, out *[]int32) error {
	var tmp []int64
	if err := v.int64s(typ, &tmp); err != nil {
		return err
	}
	for _, x := range tmp {
		*out = append(*out, int32(x))
	}
	return nil
}

func (v field) uint64s(typ protowire.Type, out *[]uint64) error {
	var tmp []int64
	if err := v.int64s(typ, &tmp); err != nil {
		return err
	}
	for _, x := range tmp {
		*out = append(*out, uint64(x))
	}
	return nil
}

func (v field) float32s(typ protowire.Type, out *[]float32) error {
	if typ == protowire.Fixed32Type {
		*out = append(*out, math.Float32frombits(uint32(v.n)))
		return nil
	}
	if err := wantType(typ, protowire.BytesType); err != nil {
		return err
	}
	if len(v.b)%4 != 0 {
		return fmt.Errorf("packed floats: %d bytes is not a multiple of 4", len(v.b))
	}
	s := *out
	if cap(s)-len(s) < len(v.b)/4 {
		s = append(make([]float32, 0, len(s)+len(v.b)/4), s...)
	}
	for b := v.b; len(b) > 0; b = b[4:] {
		s = append(s, math.Float32frombits(uint32(b[0])|uint32(b[1])<<8|uint32(b[2])<<16|uint32(b[3])<<24))
	}
	*out = s
	return nil
}

func (v field) float64s(typ protowire.Type, out *[]float64) error {
	if typ == protowire.Fixed64Type {
		*out = append(*out, math.Float64frombits(v.n))
		return nil
	}
	if err := wantType(typ, protowire.BytesType); err != nil {
		return err
	}
	if len(v.b)%8 != 0 {
		return fmt.Errorf("packed doubles: %d bytes is not a multiple of 8", len(v.b))
	}
	s := *out
	if cap(s)-len(s) < len(v.b)/8 {
		s = append(make([]float64, 0, len(s)+len(v.b)/8), s...)
	}
	for b := v.b; len(b) > 0; b = b[8:] {
		x, _ := protowire.ConsumeFixed64(b)
		s = append(s, math.Float64frombits(x))
	}
	*out = s
	return nil
}
