package simulate

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Formats are the output formats of WriteResult and WriteComparison.
var Formats = []string{"table", "json", "html"}

// WriteResult writes one replay's result in format.
func WriteResult(w io.Writer, res *Result, format string) error {
	switch format {
	case "json":
		return writeJSON(w, res)
	case "html":
		return writeHTML(w, &report{Title: "Simulation of " + res.Policy, Draft: res})
	case "table", "":
		return writeTables(w, res, nil)
	}
	return fmt.Errorf("unknown format %q (allowed: %s)", format, strings.Join(Formats, ", "))
}

// WriteComparison writes a comparison in format.
func WriteComparison(w io.Writer, c *Comparison, format string) error {
	switch format {
	case "json":
		return writeJSON(w, c)
	case "html":
		return writeHTML(w, &report{Title: "Simulation of " + c.Draft.Policy + " against " + c.Baseline.Policy, Draft: c.Draft, Baseline: c.Baseline, Comparison: c})
	case "table", "":
		return writeTables(w, c.Draft, c)
	}
	return fmt.Errorf("unknown format %q (allowed: %s)", format, strings.Join(Formats, ", "))
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// writeTables prints the result (and, with c, the comparison) as plain text tables.
func writeTables(w io.Writer, res *Result, c *Comparison) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	section := func(title string) { fmt.Fprintf(tw, "\n%s\n", title) }
	fmt.Fprintf(tw, "policy %s (sha256 %.12s), history %s .. %s\n", res.Policy, res.PolicyHash, res.From, res.Until)
	fmt.Fprintf(tw, "%d tickets, %d events replayed, %d deadlines fired, %d agent actions simulated\n",
		res.Tickets, res.EventsReplayed, res.DeadlinesFired, res.AgentActions)
	if c != nil {
		section("CHANGE FROM " + c.Baseline.Policy)
		fmt.Fprintf(tw, "measure\tbaseline\tdraft\tchange\n")
		for _, d := range c.Measures {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%+d\n", d.Measure, d.Baseline, d.Draft, d.Change)
		}
		if len(c.Measures) == 0 {
			fmt.Fprintf(tw, "(no measure changed)\n")
		}
	}
	counts := func(title string, cs []Count) {
		section(title)
		fmt.Fprintf(tw, "group\tescalations\tshare\n")
		for _, x := range cs {
			fmt.Fprintf(tw, "%s\t%d\t%s\n", x.Key, x.Count, share(x.Count, res.Escalations.Total))
		}
	}
	section(fmt.Sprintf("ESCALATIONS: %d", res.Escalations.Total))
	counts("by rule (or how they were made)", res.Escalations.ByRule)
	counts("by reason", res.Escalations.ByReason)
	counts("by transition", res.Escalations.ByTransition)
	counts("by tier", res.Escalations.ByTier)
	section("LOAD PER TEAM (open tickets against the agents' capacity, per UTC hour)")
	fmt.Fprintf(tw, "team\tcapacity\tarrivals\tpeak hourly arrivals\tpeak open\thours over capacity\n")
	for _, t := range res.Teams {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\n", t.Team, t.Capacity, t.Arrivals, t.PeakHourArrivals, t.PeakOpen, t.HoursOverCapacity)
	}
	section("SLA")
	fmt.Fprintf(tw, "team\ttarget\twarnings\tbreaches\tlateness p50\tp90\tmax\n")
	for _, s := range res.SLA {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\n", s.Team, s.Target, s.Warnings, s.Breaches, secs(s.LatenessP50), secs(s.LatenessP90), secs(s.LatenessMax))
	}
	if len(res.Skipped) > 0 {
		section("HISTORY EVENTS THE POLICY REFUSED")
		fmt.Fprintf(tw, "type\tcount\treason\n")
		for _, s := range res.Skipped {
			fmt.Fprintf(tw, "%s\t%d\t%s\n", s.Type, s.Count, s.Reason)
		}
	}
	if c != nil {
		section(fmt.Sprintf("TICKETS ESCALATED DIFFERENTLY: %d", len(c.Changed)))
		fmt.Fprintf(tw, "ticket\t%s\t%s\n", c.Baseline.Policy, c.Draft.Policy)
		for _, t := range c.Changed {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Ticket, list(t.Baseline), list(t.Draft))
		}
	}
	return tw.Flush()
}

func share(n, total int) string {
	if total == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(total))
}

func secs(s int64) string {
	if s == 0 {
		return "-"
	}
	return (time.Duration(s) * time.Second).String()
}

func list(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, "; ")
}

// report is what the HTML template shows.
type report struct {
	Title           string
	Draft, Baseline *Result
	Comparison      *Comparison
}

// maxHTMLTickets bounds the ticket table of the HTML report; the JSON has them all.
const maxHTMLTickets = 1000

func writeHTML(w io.Writer, r *report) error {
	return reportTemplate.Execute(w, r)
}

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"share": share, "secs": secs, "list": list,
	"bars": barChart, "load": loadChart, "maxTickets": func() int { return maxHTMLTickets },
	"first": func(n int, ts []TicketChange) []TicketChange { return ts[:min(n, len(ts))] },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1b1f24}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;margin:.5rem 0}th,td{padding:.25rem .6rem;text-align:left;border-bottom:1px solid #eaeef2}
td.n{text-align:right;font-variant-numeric:tabular-nums}
svg{max-width:100%;height:auto}figure{margin:1rem 0}figcaption{font-size:.9rem;color:#57606a}
</style></head><body>
<h1>{{.Title}}</h1>
{{with .Draft}}<p>Policy <b>{{.Policy}}</b> (sha256 {{printf "%.12s" .PolicyHash}}), history {{.From}} to {{.Until}}: {{.Tickets}} tickets, {{.EventsReplayed}} events replayed, {{.DeadlinesFired}} deadlines fired, {{.AgentActions}} agent actions simulated.</p>{{end}}
{{with .Comparison}}<p>{{.Summary}}</p>
<h2>What changes</h2>
<table><thead><tr><th>measure</th><th>{{.Baseline.Policy}}</th><th>{{.Draft.Policy}}</th><th>change</th></tr></thead><tbody>
{{range .Measures}}<tr><td>{{.Measure}}</td><td class="n">{{.Baseline}}</td><td class="n">{{.Draft}}</td><td class="n">{{printf "%+d" .Change}}</td></tr>
{{else}}<tr><td colspan="4">No measure changed.</td></tr>{{end}}</tbody></table>{{end}}
<h2>Escalations by transition</h2>
<figure>{{bars .Baseline .Draft}}<figcaption>Escalations per team transition{{if .Baseline}}: the baseline in grey, the draft in blue{{end}}. The numbers are in the table below.</figcaption></figure>
{{with .Draft}}<table><thead><tr><th>transition</th><th>escalations</th><th>share</th></tr></thead><tbody>
{{$t := .Escalations.Total}}{{range .Escalations.ByTransition}}<tr><td>{{.Key}}</td><td class="n">{{.Count}}</td><td class="n">{{share .Count $t}}</td></tr>{{end}}</tbody></table>
<h2>Escalations by rule and reason</h2>
<table><thead><tr><th>rule (or how it was made)</th><th>escalations</th><th>share</th></tr></thead><tbody>
{{range .Escalations.ByRule}}<tr><td>{{.Key}}</td><td class="n">{{.Count}}</td><td class="n">{{share .Count $t}}</td></tr>{{end}}</tbody></table>
<table><thead><tr><th>reason</th><th>escalations</th><th>share</th></tr></thead><tbody>
{{range .Escalations.ByReason}}<tr><td>{{.Key}}</td><td class="n">{{.Count}}</td><td class="n">{{share .Count $t}}</td></tr>{{end}}</tbody></table>
<h2>Load per team</h2>
<table><thead><tr><th>team</th><th>capacity</th><th>arrivals</th><th>peak hourly arrivals</th><th>peak open</th><th>hours over capacity</th></tr></thead><tbody>
{{range .Teams}}<tr><td>{{.Team}}</td><td class="n">{{.Capacity}}</td><td class="n">{{.Arrivals}}</td><td class="n">{{.PeakHourArrivals}}</td><td class="n">{{.PeakOpen}}</td><td class="n">{{.HoursOverCapacity}}</td></tr>{{end}}</tbody></table>
{{end}}
{{range $i, $t := .Draft.Teams}}<figure>{{load $t $.Baseline $i}}<figcaption>{{$t.Team}}: open tickets per hour from {{$.Draft.From}} to {{$.Draft.Until}}{{if $.Baseline}} (baseline grey, draft blue){{end}}; the dashed line is the agents' capacity ({{$t.Capacity}}); the number at the top left is the chart's scale.</figcaption></figure>{{end}}
{{with .Draft}}<h2>SLA</h2>
<table><thead><tr><th>team</th><th>target</th><th>warnings</th><th>breaches</th><th>lateness p50</th><th>p90</th><th>max</th></tr></thead><tbody>
{{range .SLA}}<tr><td>{{.Team}}</td><td>{{.Target}}</td><td class="n">{{.Warnings}}</td><td class="n">{{.Breaches}}</td><td class="n">{{secs .LatenessP50}}</td><td class="n">{{secs .LatenessP90}}</td><td class="n">{{secs .LatenessMax}}</td></tr>{{end}}</tbody></table>
{{if .Skipped}}<h2>History events the policy refused</h2>
<table><thead><tr><th>type</th><th>count</th><th>reason</th></tr></thead><tbody>
{{range .Skipped}}<tr><td>{{.Type}}</td><td class="n">{{.Count}}</td><td>{{.Reason}}</td></tr>{{end}}</tbody></table>{{end}}{{end}}
{{with .Comparison}}<h2>Tickets escalated differently ({{len .Changed}})</h2>
{{if gt (len .Changed) maxTickets}}<p>The first {{maxTickets}}; the JSON output lists them all.</p>{{end}}
<table><thead><tr><th>ticket</th><th>{{.Baseline.Policy}}</th><th>{{.Draft.Policy}}</th></tr></thead><tbody>
{{range first maxTickets .Changed}}<tr><td>{{.Ticket}}</td><td>{{list .Baseline}}</td><td>{{list .Draft}}</td></tr>{{end}}</tbody></table>{{end}}
</body></html>
`))

// barChart draws escalations per transition, the baseline's bar beside the draft's.
func barChart(base, draft *Result) template.HTML {
	keys := map[string]bool{}
	bm, dm := map[string]int{}, countMap(draft.Escalations.ByTransition)
	if base != nil {
		bm = countMap(base.Escalations.ByTransition)
	}
	peak := 1
	for k, n := range dm {
		keys[k], peak = true, max(peak, n)
	}
	for k, n := range bm {
		keys[k], peak = true, max(peak, n)
	}
	names := unionKeys(bm, dm)
	const row, labelW, barW = 26, 260, 520
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" role="img" aria-label="escalations per transition">`, labelW+barW+60, row*len(names)+10)
	for i, k := range names {
		y := i*row + 5
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" font-size="13">%s</text>`, labelW-8, y+15, template.HTMLEscapeString(k))
		h := 20
		if base != nil {
			h = 10
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="9" fill="#8c959f"><title>baseline %d</title></rect>`, labelW, y+1, bm[k]*barW/peak, bm[k])
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="#0969da"><title>%d</title></rect>`, labelW, y+21-h, dm[k]*barW/peak, h-1, dm[k])
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12">%d</text>`, labelW+dm[k]*barW/peak+4, y+19, dm[k])
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// loadChart draws a team's open tickets per hour against its capacity.
func loadChart(t TeamLoad, base *Result, _ int) template.HTML {
	var bl *TeamLoad
	if base != nil {
		for i := range base.Teams {
			if base.Teams[i].Team == t.Team {
				bl = &base.Teams[i]
			}
		}
	}
	peak := max(t.Capacity, 1)
	for _, h := range t.Hours {
		peak = max(peak, h.Open)
	}
	if bl != nil {
		for _, h := range bl.Hours {
			peak = max(peak, h.Open)
		}
	}
	const w, hgt = 900, 140
	n := max(len(t.Hours)-1, 1)
	x := func(i int) float64 { return float64(i) * w / float64(n) }
	y := func(v int) float64 { return hgt - float64(v)*(hgt-10)/float64(peak) }
	line := func(hours []HourLoad, color string) string {
		var p strings.Builder
		for i, h := range hours {
			fmt.Fprintf(&p, "%.1f,%.1f ", x(i), y(h.Open))
		}
		return fmt.Sprintf(`<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`, color, p.String())
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" role="img" aria-label="%s open tickets per hour">`, w, hgt+2, template.HTMLEscapeString(t.Team))
	fmt.Fprintf(&b, `<line x1="0" x2="0" y1="10" y2="%d" stroke="#d0d7de"/><line x1="0" x2="%d" y1="%d" y2="%d" stroke="#d0d7de"/><text x="4" y="12" font-size="11" fill="#57606a">%d</text>`, hgt, w, hgt, hgt, peak)
	if bl != nil {
		b.WriteString(line(bl.Hours, "#8c959f"))
	}
	b.WriteString(line(t.Hours, "#0969da"))
	if t.Capacity > 0 {
		fmt.Fprintf(&b, `<line x1="0" x2="%d" y1="%.1f" y2="%.1f" stroke="#a40e26" stroke-dasharray="6 4"/>`, w, y(t.Capacity), y(t.Capacity))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
