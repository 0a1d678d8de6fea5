package render

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"time"

	"github.com/modelfn/modelfn/drift"
)

// HTML writes the report as one self-contained page.
func HTML(w io.Writer, r *drift.Report) error {
	if err := page.Execute(w, view{r}); err != nil {
		return fmt.Errorf("render: html: %w", err)
	}
	return nil
}

type view struct{ *drift.Report }

func (v view) Results() []drift.ColumnResult { return v.All() }

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"num":      num,
	"verdict":  verdict,
	"pct":      func(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) },
	"f4":       func(f float64) string { return fmt.Sprintf("%.4f", f) },
	"plot":     plot,
	"metric":   refMetric,
	"names":    metricNames,
	"drop":     func(n drift.Num) string { return fmt.Sprintf("%.2f%%", 100*float64(n)) },
	"timeline": timeline,
	"join":     strings.Join,
}).Parse(pageHTML))

const (
	plotW, plotH = 320, 140
	refColor     = "#7a8ca3"
	curColor     = "#e07b39"
)

// plot draws a column's reference and current shares as paired bars.
func plot(c drift.ColumnResult) template.HTML {
	d := c.Distribution
	if d == nil || len(d.Reference) == 0 {
		return template.HTML(`<p class="muted">no distribution</p>`)
	}
	n := len(d.Reference)
	top := 0.0
	for i := 0; i < n; i++ {
		top = math.Max(top, math.Max(d.Reference[i], d.Current[i]))
	}
	if top == 0 {
		top = 1
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="plot" viewBox="0 0 %d %d" role="img" aria-label="%s distribution">`, plotW, plotH+18, template.HTMLEscapeString(c.Name))
	slot := float64(plotW) / float64(n)
	bw := math.Max(slot/2-0.5, 0.5)
	for i := 0; i < n; i++ {
		x := float64(i) * slot
		for k, v := range []float64{d.Reference[i], d.Current[i]} {
			h := v / top * plotH
			color := refColor
			if k == 1 {
				color = curColor
			}
			label := binLabel(d, i)
			fmt.Fprintf(&b, `<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s"><title>%s %s: %.2f%%</title></rect>`,
				x+float64(k)*bw, plotH-h, bw, h, color, template.HTMLEscapeString(label), []string{"reference", "current"}[k], 100*v)
		}
	}
	fmt.Fprintf(&b, `<line x1="0" y1="%d" x2="%d" y2="%d" stroke="#999"/>`, plotH, plotW, plotH)
	lo, hi := binLabel(d, 0), binLabel(d, n-1)
	if len(d.Edges) > 0 {
		lo, hi = shortNum(d.Edges[0]), shortNum(d.Edges[len(d.Edges)-1])
	}
	fmt.Fprintf(&b, `<text x="0" y="%d" class="axis">%s</text><text x="%d" y="%d" class="axis" text-anchor="end">%s</text></svg>`,
		plotH+14, template.HTMLEscapeString(lo), plotW, plotH+14, template.HTMLEscapeString(hi))
	return template.HTML(b.String())
}

func binLabel(d *drift.Distribution, i int) string {
	if len(d.Edges) > i+1 {
		return "[" + shortNum(d.Edges[i]) + ", " + shortNum(d.Edges[i+1]) + ")"
	}
	if i < len(d.Labels) {
		return d.Labels[i]
	}
	return ""
}

func shortNum(f float64) string { return fmt.Sprintf("%.4g", f) }

var episodeColors = map[string]string{"sudden": "#d64545", "gradual": "#e0a030", "periodic": "#4a7fd6", "temporary": "#45a06a"}

// timeline draws the drift episodes on one time axis.
func timeline(eps []drift.Episode) template.HTML {
	if len(eps) == 0 {
		return template.HTML(`<p class="muted">No drift episodes (they appear when time-windowed data is analysed).</p>`)
	}
	start, end := eps[0].Start, eps[0].End
	for _, e := range eps {
		if e.Start.Before(start) {
			start = e.Start
		}
		if e.End.After(end) {
			end = e.End
		}
	}
	span := end.Sub(start)
	if span <= 0 {
		span = time.Hour
	}
	const w, row = 900, 26
	h := row*len(eps) + 24
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="timeline" viewBox="0 0 %d %d" role="img" aria-label="drift timeline">`, w, h)
	for i, e := range eps {
		x := float64(e.Start.Sub(start)) / float64(span) * (w - 200)
		ww := math.Max(float64(e.End.Sub(e.Start))/float64(span)*(w-200), 3)
		y := i*row + 4
		color := episodeColors[e.Type]
		if color == "" {
			color = "#888"
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" rx="3" fill="%s"><title>%s %s .. %s: %s</title></rect>`,
			x, y, ww, row-8, color, template.HTMLEscapeString(e.Type), e.Start.Format(time.RFC3339), e.End.Format(time.RFC3339),
			template.HTMLEscapeString(strings.Join(e.Features, ", ")))
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="axis">%s · %s</text>`, math.Min(x+ww+6, w-190), y+row/2+2,
			template.HTMLEscapeString(e.Type), template.HTMLEscapeString(strings.Join(e.Features, ", ")))
	}
	fmt.Fprintf(&b, `<text x="0" y="%d" class="axis">%s</text><text x="%d" y="%d" class="axis" text-anchor="end">%s</text></svg>`,
		h-4, start.Format("2006-01-02 15:04"), w-200, h-4, end.Format("2006-01-02 15:04"))
	return template.HTML(b.String())
}

const pageHTML = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Drift report</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.card{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:10px 14px;min-width:150px}
.card b{display:block;font-size:20px}.bad{color:#c0392b}.good{color:#23824d}.muted{color:#6b7280}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #dde1e7}
th,td{padding:5px 8px;border-bottom:1px solid #eceff3;text-align:left;white-space:nowrap}
th{background:#eef1f5;cursor:pointer;user-select:none}td.n{text-align:right;font-variant-numeric:tabular-nums}
.tag{display:inline-block;padding:0 7px;border-radius:9px;font-size:12px;background:#e5e7eb}
.tag.drift{background:#f8d7d3;color:#a12a1c}.tag.ok{background:#d5efdf;color:#1d6b3d}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:12px}
.panel{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:10px}
.panel h3{font-size:14px;margin:0 0 6px}.plot{width:100%;height:auto}.timeline{width:100%;height:auto}
.axis{font-size:10px;fill:#6b7280}.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px}
</style></head>
<body><main>
<h1>Drift report</h1>
<div class="muted">schema {{.SchemaVersion}} · reference {{.ReferenceRows}} rows · current {{.CurrentRows}} rows</div>
<div class="cards">
{{with .Dataset}}<div class="card">Dataset drift{{if eq .Status "ok"}}<b class="{{if .Drifted}}bad{{else}}good{{end}}">{{if .Drifted}}Drift{{else}}No drift{{end}}</b>{{.DriftedColumns}} of {{.Columns}} features ({{pct .Share}}, threshold {{pct .Threshold}}){{else}}<b class="muted">Not enough data</b>{{end}}</div>{{end}}
<div class="card">Data quality<b class="{{if .Quality.Violations}}bad{{else}}good{{end}}">{{len .Quality.Violations}} violation(s)</b>{{len .Quality.MissingColumns}} missing · {{len .Quality.ExtraColumns}} extra columns</div>
{{with .Performance}}<div class="card">Performance ({{.Primary}})<b class="{{if .Degraded}}bad{{else}}good{{end}}">{{if eq .Status "ok"}}{{drop .Drop}} drop{{else}}n/a{{end}}</b>threshold {{pct .Threshold}}</div>{{end}}
<div class="card">Drift episodes<b>{{len .Episodes}}</b>over time</div>
</div>

<h2>Drift by column</h2>
<label><input type="checkbox" id="only-drifted"> show drifted columns only</label>
<table id="drift-table"><thead><tr><th>Column</th><th>Role</th><th>Type</th><th>Method</th><th>Statistic</th><th>p-value</th><th>Threshold</th><th>Drift</th><th>Source</th><th>Note</th></tr></thead><tbody>
{{range .Results}}<tr data-drifted="{{.Drifted}}"><td>{{.Name}}</td><td>{{.Role}}</td><td>{{.Type}}</td><td>{{.Method}}</td><td class="n">{{num .Statistic}}</td><td class="n">{{num .PValue}}</td><td class="n">{{.Threshold}}</td><td><span class="tag {{if .Drifted}}drift{{else if eq .Status "ok"}}ok{{end}}">{{verdict .}}</span></td><td>{{.Source}}</td><td class="muted">{{if .Reason}}{{.Reason}}{{else}}{{.Note}}{{end}}</td></tr>
{{end}}</tbody></table>

<h2>Distributions</h2>
<div class="legend muted"><span style="background:#7a8ca3"></span>reference<span style="background:#e07b39"></span>current</div>
<div class="grid">
{{range .Results}}<div class="panel"><h3>{{.Name}} <span class="tag {{if .Drifted}}drift{{else if eq .Status "ok"}}ok{{end}}">{{.Method}} {{num .Statistic}}</span></h3>{{plot .}}</div>
{{end}}</div>

<h2>Data quality</h2>
{{if .Quality.Violations}}<table><thead><tr><th>Feature</th><th>Check</th><th>Description</th></tr></thead><tbody>
{{range .Quality.Violations}}<tr><td>{{.Feature}}</td><td>{{.Check}}</td><td>{{.Description}}</td></tr>
{{end}}</tbody></table>{{else}}<p class="good">No violations.</p>{{end}}
<table style="margin-top:12px"><thead><tr><th>Column</th><th>Rows</th><th>Missing</th><th>Non-finite</th><th>Completeness</th><th>Reference completeness</th><th>Type errors</th><th>Out of range</th><th>Unseen categories</th></tr></thead><tbody>
{{range .Quality.Columns}}<tr><td>{{.Name}}</td><td class="n">{{.Rows}}</td><td class="n">{{.Missing}}</td><td class="n">{{.NonFinite}}</td><td class="n">{{pct .Completeness}}</td><td class="n">{{pct .ReferenceCompleteness}}</td><td class="n">{{.TypeErrors}}</td><td class="n">{{.OutOfRange}}{{if .OutOfRangeEstimated}} (est.){{end}}</td><td class="n">{{.UnseenCategories}}{{if .UnseenExamples}} <span class="muted">{{join .UnseenExamples ", "}}</span>{{end}}</td></tr>
{{end}}</tbody></table>

{{with .Performance}}<h2>Performance</h2>
<p>{{.Task}}, {{.Rows}} labelled rows; primary metric {{.Primary}}{{if eq .Status "ok"}}: drop {{drop .Drop}} against threshold {{pct .Threshold}} — <b class="{{if .Degraded}}bad{{else}}good{{end}}">{{if .Degraded}}degraded{{else}}ok{{end}}</b>{{else}} — {{.Note}}{{end}}</p>
<table><thead><tr><th>Metric</th><th>Reference</th><th>Current</th></tr></thead><tbody>
{{$ref := .Reference}}{{$cur := .Current}}{{range names .Current}}<tr><td>{{.}}</td><td class="n">{{metric $ref .}}</td><td class="n">{{metric $cur .}}</td></tr>
{{end}}</tbody></table>{{end}}

<h2>Drift over time</h2>
{{timeline .Episodes}}
</main>
<script>
(function () {
  var table = document.getElementById("drift-table");
  var body = table.tBodies[0];
  document.getElementById("only-drifted").addEventListener("change", function (e) {
    Array.prototype.forEach.call(body.rows, function (r) {
      r.style.display = e.target.checked && r.dataset.drifted !== "true" ? "none" : "";
    });
  });
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
    th.addEventListener("click", function () {
      var rows = Array.prototype.slice.call(body.rows);
      var dir = th.dataset.dir === "asc" ? -1 : 1;
      th.dataset.dir = dir === 1 ? "asc" : "desc";
      rows.sort(function (a, b) {
        var x = a.cells[col].textContent, y = b.cells[col].textContent;
        var nx = parseFloat(x), ny = parseFloat(y);
        if (!isNaN(nx) && !isNaN(ny)) { return dir * (nx - ny); }
        return dir * x.localeCompare(y);
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
  document.body.dataset.ready = "true";
})();
</script>
</body></html>
`
