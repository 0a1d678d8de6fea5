package runtime

import (
	"math"
	"strconv"
)

// pow10 holds the powers of ten that float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// ParseNumber parses a decimal number as strconv.ParseFloat does, with
// Clinger's fast path for the common case: at most 15 significant digits
// and a small exponent, where one exact integer and one correctly rounded
// multiplication or division by an exact power of ten give the correctly
// rounded result. Anything else goes to strconv.
func ParseNumber(s string) (float64, error) {
	if v, ok := fastNumber(s); ok {
		return v, nil
	}
	return strconv.ParseFloat(s, 64)
}

// parseNumberBytes is ParseNumber for a JSON number's raw bytes, without
// converting them to a string on the fast path.
func parseNumberBytes(b []byte) (float64, error) {
	if v, ok := fastNumber(b); ok {
		return v, nil
	}
	return strconv.ParseFloat(string(b), 64)
}

func fastNumber[T string | []byte](s T) (float64, bool) {
	i, n := 0, len(s)
	neg := false
	if i < n && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	var mant uint64
	digits, exp := 0, 0
	sawDigit := false
	for ; i < n && s[i] >= '0' && s[i] <= '9'; i++ {
		sawDigit = true
		if mant == 0 && s[i] == '0' {
			continue // leading zeros are not significant
		}
		mant = mant*10 + uint64(s[i]-'0')
		digits++
	}
	if i < n && s[i] == '.' {
		i++
		for ; i < n && s[i] >= '0' && s[i] <= '9'; i++ {
			sawDigit = true
			exp--
			if mant == 0 && s[i] == '0' {
				continue
			}
			mant = mant*10 + uint64(s[i]-'0')
			digits++
		}
	}
	if !sawDigit || digits > 15 {
		return 0, false
	}
	if i < n && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < n && (s[i] == '-' || s[i] == '+') {
			eneg = s[i] == '-'
			i++
		}
		e, edigits := 0, 0
		for ; i < n && s[i] >= '0' && s[i] <= '9' && edigits < 4; i++ {
			e = e*10 + int(s[i]-'0')
			edigits++
		}
		if edigits == 0 {
			return 0, false
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	if i != n || exp < -22 || exp > 22 {
		return 0, false
	}
	f := clinger(mant, exp, neg)
	return f, !math.IsInf(f, 0)
}

// clinger is ±mant × 10^exp for mant < 2^53 and |exp| ≤ 22, where one
// exact integer and one correctly rounded multiplication or division by an
// exact power of ten give the correctly rounded result.
func clinger(mant uint64, exp int, neg bool) float64 {
	f := float64(mant)
	if exp < 0 {
		f /= pow10[-exp]
	} else {
		f *= pow10[exp]
	}
	if neg {
		f = -f
	}
	return f
}
