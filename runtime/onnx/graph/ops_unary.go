package graph

import "math"

// Unary element-wise operators. Float math runs in float64 and rounds once
// to float32, within an ulp of onnxruntime's float kernels.

type unaryFloat func(x float64) float64

func init() {
	simple := map[string]unaryFloat{
		"Exp": math.Exp, "Log": math.Log, "Sqrt": math.Sqrt, "Tanh": math.Tanh,
		"Sigmoid": sigmoid, "Floor": math.Floor, "Ceil": math.Ceil, "Round": math.RoundToEven,
		"Reciprocal": func(x float64) float64 { return 1 / x },
		"Sin":        math.Sin, "Cos": math.Cos, "Tan": math.Tan, "Asin": math.Asin, "Acos": math.Acos,
		"Atan": math.Atan, "Sinh": math.Sinh, "Cosh": math.Cosh, "Asinh": math.Asinh, "Acosh": math.Acosh,
		"Atanh": math.Atanh, "Erf": math.Erf,
		"Softplus": func(x float64) float64 {
			if x > 0 {
				return x + math.Log1p(math.Exp(-x))
			}
			return math.Log1p(math.Exp(x))
		},
		"Softsign": func(x float64) float64 { return x / (1 + math.Abs(x)) },
		"HardSwish": func(x float64) float64 {
			return x * math.Max(0, math.Min(1, x/6+0.5))
		},
	}
	for name, f := range simple {
		f := f
		register(DomainONNX, name, 1, 1, 1, 1, func(n *node) (kernel, error) {
			n.ignore("consumed_inputs")
			return kernelFunc(func(in, out []*Tensor) error { return mapFloat(in[0], out[0], f) }), nil
		})
	}
	register(DomainONNX, "Relu", 1, 1, 1, 1, func(n *node) (kernel, error) {
		n.ignore("consumed_inputs")
		return kernelFunc(func(in, out []*Tensor) error { return relu(in[0], out[0]) }), nil
	})
	register(DomainONNX, "Abs", 1, 1, 1, 1, func(n *node) (kernel, error) {
		n.ignore("consumed_inputs")
		return kernelFunc(func(in, out []*Tensor) error {
			return mapNum(in[0], out[0], numFuncs(absT[float32], absT[float64], absT[int32], absT[int64]))
		}), nil
	})
	register(DomainONNX, "Neg", 1, 1, 1, 1, func(n *node) (kernel, error) {
		n.ignore("consumed_inputs")
		return kernelFunc(func(in, out []*Tensor) error {
			return mapNum(in[0], out[0], numFuncs(negT[float32], negT[float64], negT[int32], negT[int64]))
		}), nil
	})
	register(DomainONNX, "Sign", 1, 1, 1, 1, func(n *node) (kernel, error) {
		return kernelFunc(func(in, out []*Tensor) error {
			return mapNum(in[0], out[0], numFuncs(signT[float32], signT[float64], signT[int32], signT[int64]))
		}), nil
	})
	// Activations with parameters.
	param := func(name string, def1, def2 float32, f func(a, b float64) unaryFloat, attr1, attr2 string) {
		register(DomainONNX, name, 1, 1, 1, 1, func(n *node) (kernel, error) {
			n.ignore("consumed_inputs")
			a, err := n.float(attr1, def1)
			if err != nil {
				return nil, err
			}
			b := def2
			if attr2 != "" {
				if b, err = n.float(attr2, def2); err != nil {
					return nil, err
				}
			}
			g := f(float64(a), float64(b))
			return kernelFunc(func(in, out []*Tensor) error { return mapFloat(in[0], out[0], g) }), nil
		})
	}
	param("LeakyRelu", 0.01, 0, func(a, _ float64) unaryFloat {
		return func(x float64) float64 {
			if x < 0 {
				return a * x
			}
			return x
		}
	}, "alpha", "")
	param("Elu", 1, 0, func(a, _ float64) unaryFloat {
		return func(x float64) float64 {
			if x < 0 {
				return a * (math.Exp(x) - 1)
			}
			return x
		}
	}, "alpha", "")
	param("Celu", 1, 0, func(a, _ float64) unaryFloat {
		return func(x float64) float64 { return math.Max(0, x) + math.Min(0, a*(math.Exp(x/a)-1)) }
	}, "alpha", "")
	param("Selu", 1.67326319217681884765625, 1.05070102214813232421875, func(a, g float64) unaryFloat {
		return func(x float64) float64 {
			if x <= 0 {
				return g * (a*math.Exp(x) - a)
			}
			return g * x
		}
	}, "alpha", "gamma")
	param("HardSigmoid", 0.2, 0.5, func(a, b float64) unaryFloat {
		return func(x float64) float64 { return math.Max(0, math.Min(1, a*x+b)) }
	}, "alpha", "beta")
	param("ThresholdedRelu", 1, 0, func(a, _ float64) unaryFloat {
		return func(x float64) float64 {
			if x > a {
				return x
			}
			return 0
		}
	}, "alpha", "")
	param("Shrink", 0.5, 0, func(l, b float64) unaryFloat {
		return func(x float64) float64 {
			switch {
			case x < -l:
				return x + b
			case x > l:
				return x - b
			}
			return 0
		}
	}, "lambd", "bias")

	register(DomainONNX, "Not", 1, 1, 1, 1, func(n *node) (kernel, error) {
		return kernelFunc(func(in, out []*Tensor) error {
			if in[0].Type != Bool {
				return errType(in[0].Type)
			}
			if err := out[0].Resize(Bool, in[0].Shape...); err != nil {
				return err
			}
			for i, v := range in[0].Bool[:len(out[0].Bool)] {
				out[0].Bool[i] = !v
			}
			return nil
		}), nil
	})
	register(DomainONNX, "IsNaN", 1, 1, 1, 1, func(n *node) (kernel, error) {
		return kernelFunc(func(in, out []*Tensor) error {
			return floatPredicate(in[0], out[0], func(x float64) bool { return x != x })
		}), nil
	})
	register(DomainONNX, "IsInf", 1, 1, 1, 1, func(n *node) (kernel, error) {
		neg, err := n.int("detect_negative", 1)
		if err != nil {
			return nil, err
		}
		pos, err := n.int("detect_positive", 1)
		if err != nil {
			return nil, err
		}
		return kernelFunc(func(in, out []*Tensor) error {
			return floatPredicate(in[0], out[0], func(x float64) bool {
				return (pos == 1 && math.IsInf(x, 1)) || (neg == 1 && math.IsInf(x, -1))
			})
		}), nil
	})
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

func mapFloat(a, out *Tensor, f unaryFloat) error {
	switch a.Type {
	case Float:
		if err := out.Resize(Float, a.Shape...); err != nil {
			return err
		}
		x := a.F32[:len(out.F32)]
		for i, v := range x {
			out.F32[i] = float32(f(float64(v)))
		}
	case Double:
		if err := out.Resize(Double, a.Shape...); err != nil {
			return err
		}
		x := a.F64[:len(out.F64)]
		for i, v := range x {
			out.F64[i] = f(v)
		}
	default:
		return errType(a.Type)
	}
	return nil
}

func relu(a, out *Tensor) error {
	switch a.Type {
	case Float:
		if err := out.Resize(Float, a.Shape...); err != nil {
			return err
		}
		x := a.F32[:len(out.F32)]
		for i, v := range x {
			if v < 0 {
				v = 0
			}
			out.F32[i] = v
		}
		return nil
	case Double, Int32, Int64:
		return mapNum(a, out, numFuncs(reluT[float32], reluT[float64], reluT[int32], reluT[int64]))
	}
	return errType(a.Type)
}

func reluT[T number](x T) T {
	if x < 0 {
		return 0
	}
	return x
}

func absT[T number](x T) T {
	if x < 0 {
		return -x
	}
	return x
}

func negT[T number](x T) T { return -x }

func signT[T number](x T) T {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return T(0) - 1
	}
	return x // 0 or NaN
}

// unaryNum is one function per numeric element type.
type unaryNum struct {
	f32 func(float32) float32
	f64 func(float64) float64
	i32 func(int32) int32
	i64 func(int64) int64
}

func numFuncs(f32 func(float32) float32, f64 func(float64) float64, i32 func(int32) int32, i64 func(int64) int64) unaryNum {
	return unaryNum{f32, f64, i32, i64}
}

// mapNum applies a per-type function to any numeric tensor.
func mapNum(a, out *Tensor, f unaryNum) error {
	switch a.Type {
	case Float:
		return mapT(a, out, f.f32)
	case Double:
		return mapT(a, out, f.f64)
	case Int32:
		return mapT(a, out, f.i32)
	case Int64:
		return mapT(a, out, f.i64)
	}
	return errType(a.Type)
}

func mapT[T number](a, out *Tensor, f func(T) T) error {
	z, err := alloc[T](out, a.Shape)
	if err != nil {
		return err
	}
	for i, v := range data[T](a)[:len(z)] {
		z[i] = f(v)
	}
	return nil
}

func floatPredicate(a, out *Tensor, f func(float64) bool) error {
	x, err := a.Float64s()
	if err != nil || (a.Type != Float && a.Type != Double) {
		return errType(a.Type)
	}
	if err := out.Resize(Bool, a.Shape...); err != nil {
		return err
	}
	for i, v := range x {
		out.Bool[i] = f(v)
	}
	return nil
}
