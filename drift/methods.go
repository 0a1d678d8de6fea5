package drift

import "sort"

// Method names, as Evidently names its stattests where it has them.
const (
	MethodAuto        = "auto"
	MethodKS          = "ks"               // p-value, threshold 0.05
	MethodWasserstein = "wasserstein"      // normalised by reference std, threshold 0.1
	MethodAnderson    = "anderson"         // p-value (capped significance), 0.05
	MethodCVM         = "cramer_von_mises" // p-value, 0.05
	MethodEnergy      = "energy_distance"  // distance, 0.1
	MethodPSI         = "psi"              // distance, 0.1
	MethodJS          = "jensenshannon"    // distance, 0.1
	MethodKL          = "kl_div"           // divergence, 0.1
	MethodHellinger   = "hellinger"        // distance, 0.1
	MethodChiSquare   = "chisquare"        // p-value, 0.05
	MethodZ           = "z"                // p-value, 0.05
	MethodLInf        = "linf"             // distance, 0.1
	MethodTVD         = "tvd"              // distance, 0.1
)

type methodInfo struct {
	pValue      bool    // drifted when p < threshold, else when statistic >= threshold
	threshold   float64 // default
	numericOnly bool
}

var methods = map[string]methodInfo{
	MethodKS:          {true, 0.05, true},
	MethodWasserstein: {false, 0.1, true},
	MethodAnderson:    {true, 0.05, true},
	MethodCVM:         {true, 0.05, true},
	MethodEnergy:      {false, 0.1, true},
	MethodPSI:         {false, 0.1, false},
	MethodJS:          {false, 0.1, false},
	MethodKL:          {false, 0.1, false},
	MethodHellinger:   {false, 0.1, false},
	MethodChiSquare:   {true, 0.05, false},
	MethodZ:           {true, 0.05, false},
	MethodLInf:        {false, 0.1, false},
	MethodTVD:         {false, 0.1, false},
}

// Methods lists the method names Compare accepts (besides "auto").
func Methods() []string {
	out := make([]string, 0, len(methods))
	for m := range methods {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// DefaultThreshold is a method's threshold when none is configured, and
// whether the method is a test (judged on its p-value).
func DefaultThreshold(method string) (threshold float64, pValue bool, ok bool) {
	m, ok := methods[method]
	return m.threshold, m.pValue, ok
}

// autoMethod is Evidently's default choice (_get_default_stattest): with a
// reference of at most 1,000 values, KS for numeric columns with more than
// 5 distinct pooled values, chi-squared for more than 2 (numeric up to 5,
// or categorical), the Z-test for at most 2; above 1,000, the normalised
// Wasserstein distance for numeric columns with more than 5 distinct values
// and Jensen-Shannon otherwise.
func autoMethod(kind ColumnKind, refRows int64, pooledDistinct int) string {
	if refRows <= 1000 {
		if kind == Numeric && pooledDistinct > 5 {
			return MethodKS
		}
		if pooledDistinct > 2 {
			return MethodChiSquare
		}
		return MethodZ
	}
	if kind == Numeric && pooledDistinct > 5 {
		return MethodWasserstein
	}
	return MethodJS
}
