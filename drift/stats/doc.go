// Package stats holds the numerics behind drift detection: two-sample tests
// and distances, each written to give the same numbers as a named reference
// (scipy 1.10 or Evidently's stattests) and checked against that reference's
// answers in the fixtures under drift/testdata.
//
// Functions that take samples want them finite and sorted ascending (see
// Sorted); callers sort once per column and reuse the result, which is what
// makes a full report fast. Histogram measures take proportions built by the
// binning helpers (EvidentlyBins, Proportions).
//
// Conventions, method by method:
//
//   - KS2: scipy.stats.ks_2samp(x, y, method="auto"): exact p-value when
//     max(n1, n2) <= 10,000 (Hodges' lattice-path counts, scipy's
//     _compute_prob_outside_square / _compute_outer_prob_inside_method),
//     else kstwo.sf(D, round(n1*n2/(n1+n2))) through scipy's kolmogn.
//   - Wasserstein, Energy: scipy.stats.wasserstein_distance and
//     energy_distance (CDF-distance forms, p = 1 and p = 2 times sqrt 2).
//   - WassersteinNorm: Evidently's wasserstein_distance_norm: Wasserstein
//     divided by max(std(reference, ddof=0), 0.001).
//   - AndersonKSamp: scipy.stats.anderson_ksamp(midrank=True): the
//     standardized A² statistic and its significance level, capped to
//     [0.001, 0.25] as scipy caps it.
//   - CramerVonMises2: scipy.stats.cramervonmises_2samp(method="auto"): exact
//     when max(n1, n2) <= 20, asymptotic otherwise.
//   - PSI, KLDiv, JSDistance, Hellinger on proportions: Evidently's psi,
//     kl_div (scipy.stats.entropy), jensenshannon (scipy.spatial.distance,
//     natural log) and hellinger_distance.
//   - ChiSquareGOF: Evidently's chisquare stattest: scipy.stats.chisquare of
//     current counts against reference proportions scaled to the current
//     size (not a contingency test).
//   - ZTest2Prop: Evidently's z_stat_test: pooled two-proportion z-test,
//     two-sided.
//   - LInf, TVD: max and half the sum of absolute differences of
//     proportions (Vertex AI's L-infinity; TVD as a distance, where Evidently
//     turns it into a permutation p-value).
package stats
