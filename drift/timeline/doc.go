// Package timeline finds drift episodes in a sequence of time windows and
// says what kind of drift each is: sudden, gradual, periodic or temporary.
//
// # Input
//
// A Series holds windows in time order; each window holds, per feature,
// the severity of its drift against the reference: the column's statistic
// divided by its threshold for distances, ln(p)/ln(threshold) for tests
// (Severity; AddReport takes it from a drift.Report). Severity 1 is the
// threshold: at or above it the window's verdict is "drifted". NaN means
// no verdict and the window is skipped for that feature.
//
// # Baseline
//
// Per feature, the drift-free level and noise of the severity: given in
// Options.Baselines (for instance from the reference split into windows,
// each compared with the whole reference, as NannyML does), or estimated.
// The estimate starts from the warm-up, the first min(Warmup = 24, n/2)
// windows, by median and 1.4826 x MAD; then, until it settles (at most 5
// times), it is re-estimated as the mean and standard deviation of every
// window outside the episodes found with it. The standard deviation is at
// least MinStd (0.05). A feature with fewer than 4 warm-up windows is
// skipped. Severities are standardised: z = (severity - mean) / std.
//
// # Detector: CUSUM
//
// Page's one-sided CUSUM (Page 1954), S = max(0, S + z - K), alarm when
// S > H, with K = 1 and H = 8: tuned to shifts of 2 baseline standard
// deviations. By Siegmund's approximation, in Gaussian noise it
// false-alarms once in about 4.6e7 windows and signals a 3-sd shift after
// 4.5 windows on average, a 10-sd one after 1 (the tests see no alarm in
// 20 x 2,000 stationary windows, and alarms within 10 windows of a 3-sd
// step and 2 of a 10-sd one). Why the CUSUM: the pre-change state is
// known here (the baseline: what the reference looks like from a window),
// and for a known pre-change distribution Page's CUSUM minimises the
// worst-case detection delay at a given false-alarm rate (Lorden 1971,
// Moustakides 1986). Page-Hinkley is the same sum with the pre-change mean
// replaced by the running mean of everything seen, which the drift itself
// contaminates; ADWIN's bound needs values in a known bounded range, and
// severities are not bounded. The tests check the chart's average run
// lengths against Montgomery's table (K = 1/2, H = 4 and 5).
//
// The onset is dated by the generalised likelihood ratio for a shift of
// unknown size (Siegmund and Venkatraman 1995) over the windows since S
// was last 0. During an episode of level L (mean z since the onset), a
// second CUSUM sums L/2 - z, the log-likelihood ratio of baseline against
// level L, to find the return to baseline (dated by its last zero); a
// third watches for a further increase and, when the part before it is
// not drift (below), restarts the episode there, so that a noise excursion
// or a sub-threshold lead-in is not glued to the drift that follows.
//
// # What counts as an episode
//
// The detectors find changes; the threshold decides whether they matter.
// An episode has at least MinWindows (3) windows with severity >= 1; its
// plateau, the median severity of its second half, is >= 1; and the
// plateau is at least MinLevel (3) baseline standard deviations above the
// baseline (Shewhart's 3-sigma), so a threshold that sits inside the noise
// does not turn a run of noisy windows into drift.
//
// # Types
//
// Each feature's episodes are named in this order:
//
//   - periodic: at least MinCycles+1 (3) consecutive episodes whose onsets
//     are evenly spaced, every onset-to-onset interval within 25% (and at
//     least one window) of the first: two or more on/off cycles with a
//     regular period. Period is the mean interval. It is ongoing unless the
//     next onset is overdue (later than 1.25 periods plus a window after
//     the last one), and then ends where the last episode ended.
//   - temporary: it returned to baseline (a drift that reverted).
//   - sudden: still on at the last window, and it reached its plateau P
//     (median z of its second half) within SuddenWindows (3) windows of the
//     onset, the onset window counting 1: the first window at z >=
//     min(0.9 P, P - 2), 90% of the way or within two noise standard
//     deviations of it.
//   - gradual: still on at the last window, and the rise took longer. Its
//     start is re-dated by extrapolating the least-squares line through the
//     rise (the unbroken run of windows above 10% of the plateau up to the
//     first window at it) back to the baseline, since the detector only
//     alarms once a ramp stands out from the noise.
//
// Episodes of one type on different features whose onsets are at most
// GroupWindows (6) apart, and, when periodic, whose periods agree within
// 25%, are one episode: it starts at the earliest onset, ends at the latest
// end (the last window's end when ongoing), lists its features in series
// order, and scores the highest plateau severity among them (for a
// periodic episode, the median severity of its on-windows).
//
// On driftsim streams resampled from scikit-learn's breast-cancer data
// (120 hourly windows of 500 rows, shifts of 0.4 to 1 standard deviation on
// one to three features, normalised Wasserstein distance; and, through
// drift.CompareData, the KS test's p-values), the tests find each type
// with its features, sudden, temporary and periodic onsets within one
// window, temporary ends within one window, periods within one window,
// gradual starts from three windows early to a quarter of the ramp late,
// and no episode on the control streams.
//
// # Limits
//
// Only increases of severity are drift: severity measures the distance
// from the reference, so a decrease is a return towards it. A drift that
// is already there at the first window is no change to the estimated
// baseline and is not found; give Baselines to catch it. A drift that
// worsens in steps is one episode.
//
// Detect takes about O(windows x features) time: 1.4 ms for 300 windows of
// 30 features (BenchmarkDetect).
package timeline
