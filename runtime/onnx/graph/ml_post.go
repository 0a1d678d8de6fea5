package graph

import (
	"fmt"
	"math"
)

// Post transforms of ai.onnx.ml scores, computed as onnxruntime's
// ml_common.h does: in float32, with its approximate inverse erf for PROBIT.

type postTransform int

const (
	postNone postTransform = iota
	postLogistic
	postSoftmax
	postSoftmaxZero
	postProbit
)

func parsePost(s string) (postTransform, error) {
	switch s {
	case "NONE", "":
		return postNone, nil
	case "LOGISTIC":
		return postLogistic, nil
	case "SOFTMAX":
		return postSoftmax, nil
	case "SOFTMAX_ZERO":
		return postSoftmaxZero, nil
	case "PROBIT":
		return postProbit, nil
	}
	return 0, fmt.Errorf("post_transform %q is not supported", s)
}

func expf(x float32) float32 { return float32(math.Exp(float64(x))) }

func logistic(v float32) float32 {
	a := v
	if a < 0 {
		a = -a
	}
	e := 1 / (1 + expf(-a))
	if v < 0 {
		return 1 - e
	}
	return e
}

// erfInv is onnxruntime's approximation (Winitzki, a = 0.147).
func erfInv(x float32) float32 {
	sgn := float32(1)
	if x < 0 {
		sgn = -1
	}
	x = (1 - x) * (1 + x)
	lg := float32(math.Log(float64(x)))
	v := 2/(float32(math.Pi)*0.147) + 0.5*lg
	v2 := 1 / float32(0.147) * lg
	v3 := -v + float32(math.Sqrt(float64(v*v-v2)))
	return sgn * float32(math.Sqrt(float64(v3)))
}

func probit(v float32) float32 { return float32(math.Sqrt2) * erfInv(2*v-1) }

// softmaxF32 normalises s in place in float32.
func softmaxF32(s []float32) {
	mx := -math.MaxFloat32
	for _, v := range s {
		if float64(v) > mx {
			mx = float64(v)
		}
	}
	m := float32(mx)
	var sum float32
	for i, v := range s {
		s[i] = expf(v - m)
		sum += s[i]
	}
	for i := range s {
		s[i] /= sum
	}
}

// softmaxZeroF32 leaves zero scores out of the exponentials.
func softmaxZeroF32(s []float32) {
	mx := -math.MaxFloat32
	for _, v := range s {
		if float64(v) > mx {
			mx = float64(v)
		}
	}
	m := float32(mx)
	expNeg := expf(-m)
	var sum float32
	for i, v := range s {
		if v > 0.0000001 || v < -0.0000001 {
			s[i] = expf(v - m)
			sum += s[i]
		} else {
			s[i] = v * expNeg
		}
	}
	for i := range s {
		s[i] /= sum
	}
}

// applyPost transforms one row of two or more scores in place.
func applyPost(p postTransform, s []float32) {
	switch p {
	case postProbit:
		for i, v := range s {
			s[i] = probit(v)
		}
	case postLogistic:
		for i, v := range s {
			s[i] = logistic(v)
		}
	case postSoftmax:
		softmaxF32(s)
	case postSoftmaxZero:
		softmaxZeroF32(s)
	}
}
