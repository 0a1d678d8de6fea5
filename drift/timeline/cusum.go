package timeline

// CUSUM is Page's one-sided cumulative sum (Page 1954, "Continuous
// inspection schemes", Biometrika 41) for an increase in the mean of a
// series standardised to mean 0 and standard deviation 1 before the change:
//
//	S_0 = 0,  S_t = max(0, S_{t-1} + x_t - K),  alarm when S_t > H
//
// K (the reference value or allowance) is half the shift, in standard
// deviations, the chart is tuned to; H is the decision interval. With
// K = 0.5 and H = 5 the in-control average run length is 465 and a shift
// of 1, 2 or 3 standard deviations is signalled after 10.4, 4.01 and 2.57
// observations on average (Montgomery, Introduction to Statistical Quality
// Control, table 9.3); the tests check those figures.
//
// After an alarm, the change is estimated to have begun right after the
// last observation at which S was 0 (Onset). The zero value, with K and H
// set, is ready to use.
type CUSUM struct {
	K, H float64

	sum  float64
	n    int // observations since Reset
	zero int // observations up to and including the last one at which sum was 0
}

// Add takes the next observation and reports whether the sum exceeds H.
func (c *CUSUM) Add(x float64) bool {
	c.n++
	c.sum = max(0, c.sum+x-c.K)
	if c.sum == 0 {
		c.zero = c.n
	}
	return c.sum > c.H
}

// Sum is the current cumulative sum.
func (c *CUSUM) Sum() float64 { return c.sum }

// Onset is the estimated change point: the 0-based index (counted since
// Reset) of the first observation after the sum was last 0.
func (c *CUSUM) Onset() int { return c.zero }

// Reset starts the chart again.
func (c *CUSUM) Reset() { c.sum, c.n, c.zero = 0, 0, 0 }
