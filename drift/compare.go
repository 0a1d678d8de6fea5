package drift

import (
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"

	"github.com/modelfn/modelfn/drift/stats"
)

// Config chooses methods and thresholds. The zero value is Evidently's
// defaults: an automatic method per column, each method's own threshold,
// dataset drift when at least half the features drifted.
type Config struct {
	// Method forces one method on every column ("" or "auto" chooses per
	// column). A numeric-only method forced on a categorical column falls
	// back to the automatic choice, with a note.
	Method string
	// Threshold overrides the method's default threshold (0 keeps it).
	Threshold float64
	// Columns overrides Method and Threshold per column name.
	Columns map[string]ColumnConfig
	// DriftShare is the share of drifted features at which the dataset
	// counts as drifted (default 0.5).
	DriftShare float64
	// Only, when set, restricts the comparison to these column names.
	Only []string
	// Also lists more methods to compute for every column they apply to,
	// reported in ColumnResult.Extra (no verdict).
	Also []string
	// Quality sets the data-quality thresholds.
	Quality QualityConfig
	// Performance sets the allowed relative drop of the primary metric.
	Performance PerformanceConfig
}

// ColumnConfig overrides the method and threshold of one column.
type ColumnConfig struct {
	Method    string
	Threshold float64
}

// DefaultDriftShare is the dataset drift threshold when none is given.
const DefaultDriftShare = 0.5

// Validate reports unknown method names.
func (c Config) Validate() error {
	check := func(m, where string) error {
		if m == "" || m == MethodAuto {
			return nil
		}
		if _, ok := methods[m]; !ok {
			return fmt.Errorf("drift: %s: unknown method %q (known: auto, %v)", where, m, Methods())
		}
		return nil
	}
	if err := check(c.Method, "method"); err != nil {
		return err
	}
	for name, cc := range c.Columns {
		if err := check(cc.Method, "column "+name); err != nil {
			return err
		}
	}
	for _, m := range c.Also {
		if err := check(m, "also"); err != nil {
			return err
		}
	}
	if c.DriftShare < 0 || c.DriftShare > 1 {
		return fmt.Errorf("drift: drift share %v is not in [0, 1]", c.DriftShare)
	}
	return nil
}

// Data is a table held column by column, the input of CompareData.
type Data struct {
	Columns []Column
	// Nums[i] holds numeric column i (NaN missing), Strs[i] categorical
	// column i ("" missing); the other is nil at that position.
	Nums [][]float64
	Strs [][]string
	// TypeErrors[i], when given, counts values of column i that arrived
	// with the wrong type. In a numeric column they are stored as NaN (so
	// rows stay aligned) and not counted as missing; in a categorical one
	// they are not stored.
	TypeErrors []int64
}

// Rows is the number of rows (the longest column).
func (d *Data) Rows() int64 {
	n := 0
	for i := range d.Columns {
		if i < len(d.Nums) && d.Nums[i] != nil {
			n = max(n, len(d.Nums[i]))
		}
		if i < len(d.Strs) && d.Strs[i] != nil {
			n = max(n, len(d.Strs[i]))
		}
	}
	return int64(n)
}

// pair is one column present on both sides.
type pair struct {
	col      Column
	rn, cn   *numView
	rc, cc   *catView
	refIndex int
	dist     *[3]float64 // KS statistic, ∫|F-G|, ∫(F-G)² of exact numeric views, once computed
}

// Compare compares a current profile with a reference profile. Columns are
// matched by name; a column whose kind differs counts as missing. When both
// profiles hold all their values (rows <= SampleCap) every statistic equals
// CompareData's on the raw values; otherwise the result says where it came
// from a sketch or the sample.
func Compare(ref, cur *Profile, cfg Config) *Report {
	build := func(refCol, curCol int) func(*pair) {
		return func(p *pair) {
			if n := ref.num[refCol]; n != nil {
				p.rn = numViewFromProfile(n, ref.cols[refCol])
				p.cn = numViewFromProfile(cur.num[curCol], cur.cols[curCol])
				return
			}
			p.rc = catViewFromProfile(ref.cat[refCol], ref.cols[refCol])
			p.cc = catViewFromProfile(cur.cat[curCol], cur.cols[curCol])
		}
	}
	return compare(ref.cols, cur.cols, ref.rows, cur.rows, build, cfg)
}

func catViewFromProfile(c *catCol, col Column) *catView {
	return &catView{n: c.seen, counts: c.counts, other: c.other, missing: c.missing, typeErrors: c.typeErrors,
		unseen: c.unseen, unseenCounted: len(col.Categories) > 0}
}

// CompareData compares raw columns. It reorders the values of the numeric
// columns in place (each is sorted once and reused by every method).
func CompareData(ref, cur *Data, cfg Config) *Report {
	build := func(refCol, curCol int) func(*pair) {
		return func(p *pair) {
			if ref.Columns[refCol].Kind == Numeric {
				p.rn = numViewFromRaw(ref, refCol)
				p.cn = numViewFromRaw(cur, curCol)
				return
			}
			p.rc = catViewFromRaw(ref, refCol)
			p.cc = catViewFromRaw(cur, curCol)
		}
	}
	return compare(ref.Columns, cur.Columns, ref.Rows(), cur.Rows(), build, cfg)
}

func numViewFromRaw(d *Data, i int) *numView {
	var x []float64
	if i < len(d.Nums) {
		x = d.Nums[i]
	}
	// Move the finite values to the front, in place.
	k := 0
	var missing, nonFinite int64
	for _, v := range x {
		switch {
		case math.IsNaN(v):
			missing++
		case math.IsInf(v, 0):
			nonFinite++
		default:
			x[k] = v
			k++
		}
	}
	s := x[:k]
	stats.SortFloats(s)
	v := numViewFromSorted(s)
	v.missing, v.nonFinite = missing, nonFinite
	if i < len(d.TypeErrors) {
		v.typeErrors = d.TypeErrors[i]
		v.missing = max(0, missing-v.typeErrors)
	}
	col := d.Columns[i]
	if col.Min != nil || col.Max != nil {
		v.outOfRange = 0
		for _, x := range s {
			if (col.Min != nil && x < *col.Min) || (col.Max != nil && x > *col.Max) {
				v.outOfRange++
			}
		}
	}
	return v
}

func catViewFromRaw(d *Data, i int) *catView {
	v := &catView{counts: map[string]int64{}}
	var allowed map[string]bool
	if cats := d.Columns[i].Categories; len(cats) > 0 {
		allowed = make(map[string]bool, len(cats))
		for _, c := range cats {
			allowed[c] = true
		}
		v.unseenCounted = true
	}
	if i < len(d.Strs) {
		for _, s := range d.Strs[i] {
			if s == "" {
				v.missing++
				continue
			}
			v.n++
			v.counts[s]++
			if allowed != nil && !allowed[s] {
				v.unseen++
			}
		}
	}
	if i < len(d.TypeErrors) {
		v.typeErrors = d.TypeErrors[i]
	}
	return v
}

func compare(refCols, curCols []Column, refRows, curRows int64, build func(refCol, curCol int) func(*pair), cfg Config) *Report {
	if cfg.DriftShare <= 0 {
		cfg.DriftShare = DefaultDriftShare
	}
	rep := &Report{SchemaVersion: ReportVersion, ReferenceRows: refRows, CurrentRows: curRows,
		Columns: []ColumnResult{}, Episodes: []Episode{}}
	only := map[string]bool{}
	for _, n := range cfg.Only {
		only[n] = true
	}
	curByName := map[string]int{}
	for i, c := range curCols {
		curByName[c.Name] = i
	}
	refNames := map[string]bool{}
	var pairs []*pair
	var builders []func(*pair)
	rep.Quality = Quality{MissingColumns: []string{}, ExtraColumns: []string{}, Columns: []ColumnQuality{}, Violations: []Violation{}}
	for i, rc := range refCols {
		refNames[rc.Name] = true
		if len(only) > 0 && !only[rc.Name] {
			continue
		}
		j, ok := curByName[rc.Name]
		if !ok || curCols[j].Kind != rc.Kind {
			rep.Quality.MissingColumns = append(rep.Quality.MissingColumns, rc.Name)
			continue
		}
		col := rc
		col.Role = curCols[j].Role
		if rc.Role != Feature {
			col.Role = rc.Role
		}
		pairs = append(pairs, &pair{col: col, refIndex: i})
		builders = append(builders, build(i, j))
	}
	for _, c := range curCols {
		if !refNames[c.Name] && (len(only) == 0 || only[c.Name]) {
			rep.Quality.ExtraColumns = append(rep.Quality.ExtraColumns, c.Name)
		}
	}
	results := make([]ColumnResult, len(pairs))
	quality := make([]ColumnQuality, len(pairs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for k := range pairs {
		wg.Add(1)
		sem <- struct{}{}
		go func(k int) {
			defer func() { <-sem; wg.Done() }()
			p := pairs[k]
			builders[k](p)
			results[k] = judge(p, cfg)
			quality[k] = columnQuality(p)
			builders[k] = nil
			p.rn, p.cn = nil, nil // release sorted values early
		}(k)
	}
	wg.Wait()
	for _, r := range results {
		switch r.Role {
		case Prediction.String():
			rep.PredictionDrift = append(rep.PredictionDrift, r)
		case Target.String():
			rep.TargetDrift = append(rep.TargetDrift, r)
		default:
			rep.Columns = append(rep.Columns, r)
		}
	}
	rep.Dataset = datasetVerdict(rep.Columns, cfg.DriftShare)
	rep.Quality.Columns = quality
	rep.Quality.judge(cfg.Quality)
	return rep
}

func datasetVerdict(cols []ColumnResult, share float64) DatasetResult {
	d := DatasetResult{Threshold: share, Status: StatusNotEnoughData}
	for _, c := range cols {
		if c.Status != StatusOK {
			continue
		}
		d.Columns++
		if c.Drifted {
			d.DriftedColumns++
		}
	}
	if d.Columns > 0 {
		d.Status = StatusOK
		d.Share = float64(d.DriftedColumns) / float64(d.Columns)
		d.Drifted = d.Share >= share
	}
	return d
}

// judge picks the method and threshold for one column and applies them.
func judge(p *pair, cfg Config) ColumnResult {
	res := ColumnResult{Name: p.col.Name, Type: p.col.Kind.String(), Role: p.col.Role.String(),
		Statistic: Num(math.NaN()), PValue: Num(math.NaN())}
	method, threshold := cfg.Method, cfg.Threshold
	if cc, ok := cfg.Columns[p.col.Name]; ok {
		if cc.Method != "" {
			method = cc.Method
		}
		if cc.Threshold != 0 {
			threshold = cc.Threshold
		}
	}
	var refN, curN int64
	var distinct int
	if p.rn != nil {
		refN, curN = p.rn.n, p.cn.n
		distinct = pooledDistinct(p.rn, p.cn)
	} else {
		refN, curN = p.rc.n, p.cc.n
		distinct = catPooledDistinct(p.rc, p.cc)
	}
	res.ReferenceRows, res.CurrentRows = refN, curN
	if m, ok := methods[method]; ok && m.numericOnly && p.col.Kind == Categorical {
		res.Note = fmt.Sprintf("%s applies to numeric columns only; chose automatically", method)
		method = ""
	}
	if method == "" || method == MethodAuto {
		method = autoMethod(p.col.Kind, refN, distinct)
	}
	info, ok := methods[method]
	res.Method = method
	if !ok {
		res.Status, res.Reason = StatusError, fmt.Sprintf("unknown method %q (known: auto, %v)", method, Methods())
		return res
	}
	if threshold == 0 {
		threshold = info.threshold
	}
	res.Threshold = threshold
	if refN == 0 || curN == 0 {
		res.Status = StatusNotEnoughData
		res.Reason = fmt.Sprintf("reference has %d values and current %d; both need at least one", refN, curN)
		return res
	}
	s := scoreFor(method, p)
	if s.err != nil {
		res.Status, res.Reason = StatusNotEnoughData, s.err.Error()
		return res
	}
	if math.IsNaN(s.stat) || (info.pValue && math.IsNaN(s.p)) {
		res.Status, res.Reason = StatusNotEnoughData, method+" is undefined on these values"
		return res
	}
	res.Status = StatusOK
	res.Statistic, res.PValue, res.Source, res.ErrorBound = Num(s.stat), Num(s.p), s.source, s.bound
	if s.note != "" {
		res.Note = joinNote(res.Note, s.note)
	}
	if info.pValue {
		res.Drifted = s.p < threshold
	} else {
		res.PValue = Num(math.NaN())
		res.Drifted = s.stat >= threshold
	}
	for _, m := range cfg.Also {
		mi, ok := methods[m]
		if !ok || m == method || (mi.numericOnly && p.col.Kind == Categorical) {
			continue
		}
		e := scoreFor(m, p)
		if e.err != nil {
			continue
		}
		sc := Score{Method: m, Statistic: Num(e.stat), PValue: Num(math.NaN()), Source: e.source}
		if mi.pValue {
			sc.PValue = Num(e.p)
		}
		res.Extra = append(res.Extra, sc)
	}
	res.Distribution = distribution(p)
	return res
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func scoreFor(method string, p *pair) score {
	if p.rn != nil {
		return numericScore(method, p)
	}
	return categoricalScore(method, p.rc, p.cc)
}

// maxPlotCategories bounds the categories plotted per column.
const maxPlotCategories = 20

// distribution bins a column for the report's plots: the same bins the
// histogram measures use (Sturges or per value) for numeric columns, the
// most frequent categories for categorical ones.
func distribution(p *pair) *Distribution {
	if p.rn != nil {
		rp, cp, edges, vals, _ := numericBinned(p.rn, p.cn)
		d := &Distribution{Edges: edges, Reference: rp, Current: cp}
		for _, v := range vals {
			d.Labels = append(d.Labels, fmt.Sprint(v))
		}
		if len(d.Labels) > maxPlotCategories {
			return nil
		}
		return d
	}
	labels, rc, cc := catCounts(p.rc, p.cc)
	idx := make([]int, len(labels))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return rc[idx[a]]+cc[idx[a]] > rc[idx[b]]+cc[idx[b]] })
	d := &Distribution{}
	var restR, restC float64
	for k, i := range idx {
		if k >= maxPlotCategories {
			restR += rc[i]
			restC += cc[i]
			continue
		}
		d.Labels = append(d.Labels, labels[i])
		d.Reference = append(d.Reference, rc[i]/float64(p.rc.n))
		d.Current = append(d.Current, cc[i]/float64(p.cc.n))
	}
	if len(idx) > maxPlotCategories {
		d.Labels = append(d.Labels, "(rest)")
		d.Reference = append(d.Reference, restR/float64(p.rc.n))
		d.Current = append(d.Current, restC/float64(p.cc.n))
	}
	return d
}
