// Package drift compares a current table with a reference one: per-column
// drift with a method chosen as Evidently chooses it (or forced), dataset
// drift as the share of drifted features, data quality in SageMaker Model
// Monitor's vocabulary, and model performance when labels arrive. Results
// come as one Report (JSON, text and HTML renderings live in drift/render).
//
// Inputs are either raw columns (CompareData) or mergeable Profiles
// (Compare), which the monitor builds per window, stores as small JSON
// objects and merges into longer windows:
//
//	ref := drift.NewProfile(cols, drift.ProfileOptions{})
//	ref.Add(nums, strs) // one row at a time, allocation-free
//	cur := drift.NewProfile(ref.Schema(), drift.ProfileOptions{})
//	...
//	rep := drift.Compare(ref, cur, drift.Config{})
//
// A profile keeps every value of a numeric column up to SampleCap (10,000
// by default, where scipy's ks_2samp stops being exact); then results equal
// the raw-data ones exactly. Past the cap it keeps a uniform sample and a
// KLL sketch (drift/sketch, rank error 0.28% at the default k=1000), and each result
// says where it came from (source "sketch" or "sample", with an error bound
// where one is known: KS ±(ε_ref+ε_cur), normalised Wasserstein
// ±(ε_ref+ε_cur)·range/std).
//
// Methods (statistics in drift/stats, each checked against scipy 1.10):
//
//	ks               two-sample Kolmogorov-Smirnov, scipy ks_2samp(method="auto"): exact p-value up to 10,000 values per side; p < threshold (0.05)
//	wasserstein      scipy wasserstein_distance / max(std(ref, ddof=0), 0.001) (Evidently's wasserstein_distance_norm); >= 0.1
//	anderson         scipy anderson_ksamp(midrank=True) statistic, significance capped to [0.001, 0.25]; p < 0.05
//	cramer_von_mises scipy cramervonmises_2samp (exact up to 20 values per side); p < 0.05
//	energy_distance  scipy energy_distance; >= 0.1
//	psi              Evidently's psi on get_binned_data (zero bins filled per array); >= 0.1
//	kl_div           scipy entropy on Evidently's binned, zero-filled shares; >= 0.1
//	jensenshannon    scipy jensenshannon (natural log) on Evidently's binned shares, no zero filling; >= 0.1
//	hellinger        Evidently's hellinger_distance (numeric: Sturges density bins over pooled distinct values); >= 0.1
//	chisquare        Evidently's chi-squared: goodness of fit of current counts against reference shares scaled to the current size; p < 0.05
//	z                Evidently's two-proportion z-test; p < 0.05
//	linf             L-infinity distance of category shares (Vertex AI); >= 0.1
//	tvd              total variation distance of category shares (a distance here; Evidently makes it a permutation p-value); >= 0.1
//
// Binning (psi, kl_div, jensenshannon and the plots) follows Evidently's
// get_binned_data: numeric columns with more than 20 distinct reference
// values get numpy's Sturges edges over the pooled values and shares of
// each side's count per bin; other columns one bin per pooled value.
//
// The automatic choice is Evidently's: reference of at most 1,000 values —
// ks for numeric columns with more than 5 distinct pooled values, chisquare
// for more than 2, z otherwise; larger references — wasserstein for numeric
// columns with more than 5 distinct values, jensenshannon otherwise.
//
// NaN (and "" for categories) counts as missing, ±Inf as non-finite; both
// are dropped before any statistic and reported under data quality. An
// empty side, or one a method cannot judge (anderson needs 4 values and two
// distinct ones, cramer_von_mises 2 per side), gives status
// "not_enough_data" and no verdict, never a NaN presented as one.
package drift
