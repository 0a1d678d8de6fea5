// Package perf accumulates model performance from labelled predictions in
// mergeable, JSON-serialisable form, with scikit-learn 1.2's definitions:
//
//   - Classification: accuracy; precision, recall and F1 for the positive
//     class when the task is binary (scikit-learn's average="binary"),
//     macro-averaged over the labels seen in truth or prediction otherwise
//     (average="macro", zero_division=0); for binary tasks with scores,
//     ROC AUC (roc_auc_score, ties counted half) and log loss (log_loss,
//     probabilities clipped to [eps, 1-eps], eps = 2.22e-16).
//   - Regression: MAE, RMSE (sqrt of mean_squared_error) and R²
//     (r2_score: 1 when truth is constant and predictions exact, else 0).
//
// ROC AUC is exact while the scores fit ScoreCap (default 100,000); past
// it the scores fall into 10,000 equal bins over [0, 1] per class and the
// AUC counts same-bin pairs as ties, off by at most AUCBound (half the
// share of positive-negative pairs sharing a bin), which the metrics
// report as roc_auc_error_bound.
package perf

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// Metrics maps metric names (accuracy, precision, recall, f1, roc_auc,
// log_loss, mae, rmse, r2) to values.
type Metrics map[string]float64

// Tasks.
const (
	TaskClassification = "classification"
	TaskRegression     = "regression"
)

// DefaultScoreCap is how many (score, label) pairs are kept for the exact AUC.
const DefaultScoreCap = 100000

const aucBins = 10000

// logLossEps is numpy's float64 eps, scikit-learn 1.2's "auto" clipping.
const logLossEps = 2.220446049250313e-16

// Classification accumulates classification outcomes. Positive names the
// positive class of a binary task ("" for multiclass).
type Classification struct {
	Positive  string           `json:"positive,omitempty"`
	ScoreCap  int              `json:"score_cap"`
	Confusion map[string]int64 `json:"confusion"` // "truth\x00predicted" -> count
	N         int64            `json:"n"`
	LogLoss   float64          `json:"log_loss_sum"`
	Scored    int64            `json:"scored"`
	// Exact scores (while Scored <= ScoreCap), as score and truth pairs.
	Scores []float64 `json:"scores,omitempty"`
	Truth  []bool    `json:"truth,omitempty"`
	// Past the cap: per-bin counts of positive and negative scores.
	PosBins []int64 `json:"pos_bins,omitempty"`
	NegBins []int64 `json:"neg_bins,omitempty"`
}

// NewClassification starts an accumulator; positive is the positive class
// of a binary task, "" for a multiclass one.
func NewClassification(positive string) *Classification {
	return &Classification{Positive: positive, ScoreCap: DefaultScoreCap, Confusion: map[string]int64{}}
}

func key(truth, pred string) string { return truth + "\x00" + pred }

// Add records one prediction. score is the predicted probability of the
// positive class (NaN when the model gives none).
func (c *Classification) Add(truth, predicted string, score float64) {
	c.N++
	c.Confusion[key(truth, predicted)]++
	if c.Positive == "" || math.IsNaN(score) {
		return
	}
	pos := truth == c.Positive
	p := math.Min(math.Max(score, logLossEps), 1-logLossEps)
	if pos {
		c.LogLoss -= math.Log(p)
	} else {
		c.LogLoss -= math.Log(1 - p)
	}
	c.Scored++
	if c.PosBins == nil && len(c.Scores) < c.ScoreCap {
		c.Scores = append(c.Scores, score)
		c.Truth = append(c.Truth, pos)
		return
	}
	c.toBins()
	c.bin(score, pos, 1)
}

func (c *Classification) toBins() {
	if c.PosBins != nil {
		return
	}
	c.PosBins, c.NegBins = make([]int64, aucBins), make([]int64, aucBins)
	for i, s := range c.Scores {
		c.bin(s, c.Truth[i], 1)
	}
	c.Scores, c.Truth = nil, nil
}

func (c *Classification) bin(score float64, pos bool, n int64) {
	b := int(math.Floor(score * aucBins))
	b = min(max(b, 0), aucBins-1)
	if pos {
		c.PosBins[b] += n
	} else {
		c.NegBins[b] += n
	}
}

// Merge folds o into c.
func (c *Classification) Merge(o *Classification) error {
	if c.Positive != o.Positive {
		return fmt.Errorf("perf: merge classification with positive class %q into %q", o.Positive, c.Positive)
	}
	c.N += o.N
	for k, v := range o.Confusion {
		c.Confusion[k] += v
	}
	c.LogLoss += o.LogLoss
	c.Scored += o.Scored
	if c.PosBins == nil && o.PosBins == nil && len(c.Scores)+len(o.Scores) <= c.ScoreCap {
		c.Scores = append(c.Scores, o.Scores...)
		c.Truth = append(c.Truth, o.Truth...)
		return nil
	}
	c.toBins()
	if o.PosBins != nil {
		for i := range o.PosBins {
			c.PosBins[i] += o.PosBins[i]
			c.NegBins[i] += o.NegBins[i]
		}
		return nil
	}
	for i, s := range o.Scores {
		c.bin(s, o.Truth[i], 1)
	}
	return nil
}

// Rows is the number of predictions added.
func (c *Classification) Rows() int64 { return c.N }

// Task is "classification".
func (c *Classification) Task() string { return TaskClassification }

// Primary is roc_auc for a scored binary task, accuracy otherwise.
func (c *Classification) Primary() string {
	if c.Positive != "" && c.Scored > 0 {
		return "roc_auc"
	}
	return "accuracy"
}

// Metrics computes the metrics; empty when nothing was added.
func (c *Classification) Metrics() Metrics {
	m := Metrics{}
	if c.N == 0 {
		return m
	}
	labels := map[string]bool{}
	var correct int64
	tp, fp, fn := map[string]int64{}, map[string]int64{}, map[string]int64{}
	for k, v := range c.Confusion {
		i := 0
		for k[i] != 0 {
			i++
		}
		t, p := k[:i], k[i+1:]
		labels[t], labels[p] = true, true
		if t == p {
			correct += v
			tp[t] += v
		} else {
			fp[p] += v
			fn[t] += v
		}
	}
	m["accuracy"] = float64(correct) / float64(c.N)
	prf := func(l string) (p, r, f float64) {
		if d := tp[l] + fp[l]; d > 0 {
			p = float64(tp[l]) / float64(d)
		}
		if d := tp[l] + fn[l]; d > 0 {
			r = float64(tp[l]) / float64(d)
		}
		if p+r > 0 {
			f = 2 * p * r / (p + r)
		}
		return
	}
	if c.Positive != "" && len(labels) <= 2 {
		m["precision"], m["recall"], m["f1"] = prf(c.Positive)
	} else {
		names := make([]string, 0, len(labels))
		for l := range labels {
			names = append(names, l)
		}
		sort.Strings(names)
		var sp, sr, sf float64
		for _, l := range names {
			p, r, f := prf(l)
			sp, sr, sf = sp+p, sr+r, sf+f
		}
		k := float64(len(names))
		m["precision"], m["recall"], m["f1"] = sp/k, sr/k, sf/k
	}
	if c.Scored > 0 {
		m["log_loss"] = c.LogLoss / float64(c.Scored)
		if auc, bound, ok := c.auc(); ok {
			m["roc_auc"] = auc
			if c.PosBins != nil {
				m["roc_auc_error_bound"] = bound
			}
		}
	}
	return m
}

// auc is the ROC AUC: exact by midranks, or from the bins with same-bin
// pairs as ties, with the bound on how far that can be from exact.
func (c *Classification) auc() (auc, bound float64, ok bool) {
	if c.PosBins != nil {
		var P, N float64
		for i := range c.PosBins {
			P += float64(c.PosBins[i])
			N += float64(c.NegBins[i])
		}
		if P == 0 || N == 0 {
			return 0, 0, false
		}
		var below, s, same float64
		for i := range c.PosBins {
			p, n := float64(c.PosBins[i]), float64(c.NegBins[i])
			s += p*below + 0.5*p*n
			same += p * n
			below += n
		}
		return s / (P * N), 0.5 * same / (P * N), true
	}
	idx := make([]int, len(c.Scores))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case c.Scores[a] < c.Scores[b]:
			return -1
		case c.Scores[a] > c.Scores[b]:
			return 1
		}
		return 0
	})
	var P, N, rankSum float64
	for i := 0; i < len(idx); {
		j := i + 1
		for j < len(idx) && c.Scores[idx[j]] == c.Scores[idx[i]] {
			j++
		}
		mid := float64(i+j+1) / 2 // midrank, 1-based
		for _, k := range idx[i:j] {
			if c.Truth[k] {
				P++
				rankSum += mid
			} else {
				N++
			}
		}
		i = j
	}
	if P == 0 || N == 0 {
		return 0, 0, false
	}
	return (rankSum - P*(P+1)/2) / (P * N), 0, true
}

// Regression accumulates regression outcomes.
type Regression struct {
	N      int64   `json:"n"`
	AbsErr float64 `json:"abs_err_sum"`
	SqErr  float64 `json:"sq_err_sum"`
	Mean   float64 `json:"truth_mean"` // Welford over the truth, for R²
	M2     float64 `json:"truth_m2"`
}

// NewRegression starts an accumulator.
func NewRegression() *Regression { return &Regression{} }

// Add records one prediction; non-finite pairs are skipped.
func (r *Regression) Add(truth, predicted float64) {
	if math.IsNaN(truth) || math.IsInf(truth, 0) || math.IsNaN(predicted) || math.IsInf(predicted, 0) {
		return
	}
	e := truth - predicted
	r.N++
	r.AbsErr += math.Abs(e)
	r.SqErr += e * e
	d := truth - r.Mean
	r.Mean += d / float64(r.N)
	r.M2 += d * (truth - r.Mean)
}

// Merge folds o into r.
func (r *Regression) Merge(o *Regression) {
	if o.N == 0 {
		return
	}
	n := float64(r.N + o.N)
	d := o.Mean - r.Mean
	r.M2 += o.M2 + d*d*float64(r.N)*float64(o.N)/n
	r.Mean += d * float64(o.N) / n
	r.N += o.N
	r.AbsErr += o.AbsErr
	r.SqErr += o.SqErr
}

// Rows is the number of predictions added.
func (r *Regression) Rows() int64 { return r.N }

// Task is "regression".
func (r *Regression) Task() string { return TaskRegression }

// Primary is r2.
func (r *Regression) Primary() string { return "r2" }

// Metrics computes MAE, RMSE and R²; empty when nothing was added.
func (r *Regression) Metrics() Metrics {
	if r.N == 0 {
		return Metrics{}
	}
	n := float64(r.N)
	m := Metrics{"mae": r.AbsErr / n, "rmse": math.Sqrt(r.SqErr / n)}
	switch {
	case r.M2 != 0:
		m["r2"] = 1 - r.SqErr/r.M2
	case r.SqErr == 0:
		m["r2"] = 1
	default:
		m["r2"] = 0
	}
	return m
}

// Accumulator is what Classification and Regression have in common.
type Accumulator interface {
	Metrics() Metrics
	Rows() int64
	Task() string
	Primary() string
}
