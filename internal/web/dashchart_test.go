package web

import (
	"encoding/xml"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated/internal/analytics"
)

// svgNode is a parsed SVG element, enough to check what a chart draws.
type svgNode struct {
	Name     string
	Attr     map[string]string
	Text     string
	Children []*svgNode
}

// parseSVG parses a chart as XML: it must be well formed whatever its labels hold.
func parseSVG(t *testing.T, s string) *svgNode {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(s))
	var stack []*svgNode
	var root *svgNode
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("chart is not well-formed SVG: %v\n%s", err, s)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &svgNode{Name: tok.Name.Local, Attr: map[string]string{}}
			for _, a := range tok.Attr {
				n.Attr[a.Name.Local] = a.Value
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += string(tok)
			}
		}
	}
	if root == nil || root.Name != "svg" {
		t.Fatalf("no svg element:\n%s", s)
	}
	return root
}

func (n *svgNode) all(name string) []*svgNode {
	var out []*svgNode
	for _, c := range n.Children {
		if c.Name == name {
			out = append(out, c)
		}
		out = append(out, c.all(name)...)
	}
	return out
}

func (n *svgNode) child(name string) *svgNode {
	for _, c := range n.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// bars are the rectangles drawn in a colour of a series: the data, not the tracks, legends or
// hover areas.
func bars(n *svgNode) []*svgNode {
	var out []*svgNode
	for _, g := range n.all("g") {
		for _, r := range g.all("rect") {
			if r.Attr["fill"] == seriesColours[0] || r.Attr["fill"] == seriesColours[1] {
				out = append(out, r)
			}
		}
	}
	return out
}

func width(t *testing.T, r *svgNode, attr string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(r.Attr[attr], 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", attr, r.Attr[attr], err)
	}
	return v
}

func TestBarChart(t *testing.T) {
	c := barChart{ID: "chart-x", Title: "Escalation rate by issue type", Desc: "Share of tickets escalated.", Percent: true, Rows: []barRow{
		{Label: "delivery", Values: []float64{0.5}, Text: "50%", Hover: "delivery: 50% escalated (2 of 4)"},
		{Label: `<script>alert("x")</script> & co`, Values: []float64{0}, Text: "0%", Hover: `<b>hover</b>`},
		{Label: "automation", Values: []float64{math.NaN()}, Text: "no tickets", Hover: "automation: no tickets"},
		{Label: strings.Repeat("a very long issue type name ", 4), Values: []float64{1}, Text: "100%", Hover: "long"},
	}}
	raw := string(c.SVG())
	if strings.Contains(raw, "<script>") || strings.Contains(raw, "<b>") {
		t.Fatalf("labels are not escaped:\n%s", raw)
	}
	svg := parseSVG(t, raw)
	for k, want := range map[string]string{"role": "img", "aria-labelledby": "chart-x-title chart-x-desc", "width": "100%", "id": "chart-x"} {
		if svg.Attr[k] != want {
			t.Errorf("svg %s=%q, want %q", k, svg.Attr[k], want)
		}
	}
	if !strings.HasPrefix(svg.Attr["viewBox"], "0 0 400 ") {
		t.Errorf("viewBox %q", svg.Attr["viewBox"])
	}
	if ti := svg.child("title"); ti == nil || ti.Attr["id"] != "chart-x-title" || ti.Text != c.Title {
		t.Errorf("no accessible name: %+v", ti)
	}
	if d := svg.child("desc"); d == nil || d.Attr["id"] != "chart-x-desc" || d.Text != c.Desc {
		t.Errorf("no description: %+v", d)
	}
	groups := svg.all("g")
	if len(groups) != len(c.Rows) {
		t.Fatalf("%d row groups, want %d", len(groups), len(c.Rows))
	}
	for i, g := range groups {
		if ti := g.child("title"); ti == nil || ti.Text != c.Rows[i].Hover {
			t.Errorf("row %d's hover text is %+v, want %q", i, ti, c.Rows[i].Hover)
		}
	}
	// A bar for 50% and one for 100%; none for 0 or no value; every bar with its hover text.
	bs := bars(svg)
	if len(bs) != 2 {
		t.Fatalf("%d bars, want 2 (none for a zero or a missing value)", len(bs))
	}
	if w := width(t, bs[0], "width"); w != chartWidth/2 {
		t.Errorf("50%% bar is %v wide, want half the chart", w)
	}
	if w := width(t, bs[1], "width"); w != chartWidth {
		t.Errorf("100%% bar is %v wide, want the whole chart", w)
	}
	for _, b := range bs {
		if b.child("title") == nil {
			t.Errorf("a bar without hover text")
		}
	}
	// Percentages are drawn on a track for the whole scale.
	tracks := 0
	for _, r := range svg.all("rect") {
		if r.Attr["fill"] == colourTrack {
			tracks++
		}
	}
	if tracks != len(c.Rows) {
		t.Errorf("%d tracks, want one per row", tracks)
	}
	// A long label is shortened in the drawing, whole in the hover text and the table.
	var texts []string
	for _, tx := range svg.all("text") {
		texts = append(texts, tx.Text)
	}
	joined := strings.Join(texts, "|")
	if !strings.Contains(joined, "…") || strings.Contains(joined, c.Rows[3].Label) {
		t.Errorf("the long label is not shortened: %q", joined)
	}
	if !strings.Contains(joined, `<script>alert("x")</script> & co`) {
		t.Errorf("the escaped label does not read back as written: %q", joined)
	}
}

func TestBarChartScalesCountsAndLimitsRows(t *testing.T) {
	var rows []barRow
	for i := range chartMaxRows + 5 {
		rows = append(rows, barRow{Label: "team " + strconv.Itoa(i), Values: []float64{float64(40 - i), float64(20 - i)}, Text: "x", Hover: "h"})
	}
	c := barChart{ID: "c", Title: "t", Desc: "d", Series: []chartSeries{{Name: "median"}, {Name: "p90"}}, Rows: rows}
	svg := parseSVG(t, string(c.SVG()))
	if n := len(svg.all("g")); n != chartMaxRows {
		t.Errorf("%d rows drawn, want at most %d", n, chartMaxRows)
	}
	// Counts scale to a round top above the largest value (40 -> 50), each series in its colour.
	bs := bars(svg)
	if w := width(t, bs[0], "width"); w != 40.0/50*chartWidth {
		t.Errorf("bar of 40 on a scale of 50 is %v wide", w)
	}
	if bs[0].Attr["fill"] != seriesColours[0] || bs[1].Attr["fill"] != seriesColours[1] {
		t.Errorf("series colours %s, %s", bs[0].Attr["fill"], bs[1].Attr["fill"])
	}
	// Two series get a legend naming them.
	var legend []string
	for _, tx := range svg.Children {
		if tx.Name == "text" {
			legend = append(legend, tx.Text)
		}
	}
	if strings.Join(legend, ",") != "median,p90" {
		t.Errorf("legend %q", legend)
	}
	// No rows: still a valid image that says so.
	empty := parseSVG(t, string(barChart{ID: "e", Title: "t", Desc: "d"}.SVG()))
	if tx := empty.all("text"); len(tx) != 1 || tx[0].Text != "No data" {
		t.Errorf("an empty chart does not say No data")
	}
}

func TestColumnChart(t *testing.T) {
	c := columnChart{ID: "chart-day", Title: "Escalation rate by day", Desc: "d", Percent: true, Cols: []column{
		{Label: "Nov 1", Value: 0.4, Has: true, Hover: "2026-11-01: 40%"},
		{Label: "Nov 2", Hover: "2026-11-02: no tickets"},
		{Label: "Nov 3", Value: 0, Has: true, Hover: "2026-11-03: 0%"},
		{Label: "Nov 4", Value: 0.2, Has: true, Hover: "2026-11-04: 20%"},
	}}
	svg := parseSVG(t, string(c.SVG()))
	groups := svg.all("g")
	if len(groups) != 4 {
		t.Fatalf("%d columns, want 4", len(groups))
	}
	// Hover text on every column, days without data included; a bar for each day with data,
	// a zero a sliver, a gap none.
	for i, g := range groups {
		if ti := g.child("title"); ti == nil || ti.Text != c.Cols[i].Hover {
			t.Errorf("column %d hover %+v", i, ti)
		}
	}
	bs := bars(svg)
	if len(bs) != 3 {
		t.Fatalf("%d bars, want 3 (none for the day without data)", len(bs))
	}
	h0, hZero, h3 := width(t, bs[0], "height"), width(t, bs[1], "height"), width(t, bs[2], "height")
	if hZero <= 0 || hZero > 2 || h0 != 2*h3 {
		t.Errorf("heights %v (40%%), %v (0%%), %v (20%%): want a sliver for zero and 40%% twice 20%%", h0, hZero, h3)
	}
	// The scale is 0, 25, 50 % (40 % rounds up to 50 %), and the first, middle and last days
	// label the axis.
	var texts []string
	for _, tx := range svg.all("text") {
		texts = append(texts, tx.Text)
	}
	if got := strings.Join(texts, ","); got != "0%,25%,50%,Nov 1,Nov 3,Nov 4" {
		t.Errorf("axis labels %q", got)
	}
}

func TestNiceMax(t *testing.T) {
	for _, c := range []struct{ in, want float64 }{
		{0, 1}, {-3, 1}, {math.NaN(), 1}, {1, 1}, {0.37, 0.5}, {0.5, 0.5}, {0.51, 1}, {7, 10}, {130, 200}, {2.2, 2.5}, {0.04, 0.05}, {21, 25},
	} {
		if got := niceMax(c.in); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("niceMax(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

// TestChartContrast checks the chart colours against WCAG 2.1: text 4.5:1 on white, bars 3:1
// on white and on the track behind them.
func TestChartContrast(t *testing.T) {
	for _, c := range []struct {
		fg, bg string
		min    float64
	}{
		{colourText, "#ffffff", 4.5}, {colourMuted, "#ffffff", 4.5},
		{seriesColours[0], "#ffffff", 3}, {seriesColours[1], "#ffffff", 3},
		{seriesColours[0], colourTrack, 3}, {seriesColours[1], colourTrack, 3},
	} {
		if r := contrast(c.fg, c.bg); r < c.min {
			t.Errorf("%s on %s: contrast %.2f, want at least %.1f", c.fg, c.bg, r, c.min)
		}
	}
}

func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	return (math.Max(la, lb) + 0.05) / (math.Min(la, lb) + 0.05)
}

func luminance(hex string) float64 {
	v, _ := strconv.ParseUint(strings.TrimPrefix(hex, "#"), 16, 32)
	ch := func(c uint64) float64 {
		s := float64(c) / 255
		if s <= 0.03928 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(v>>16&0xff) + 0.7152*ch(v>>8&0xff) + 0.0722*ch(v&0xff)
}

func TestDayColumns(t *testing.T) {
	rate := func(v float64) *float64 { return &v }
	from := time.Date(2026, 11, 1, 15, 30, 0, 0, time.UTC)
	until := time.Date(2026, 11, 4, 9, 0, 0, 0, time.UTC)
	d := dayColumns([]analytics.Item{
		{Key: "2026-11-01", Tickets: 4, EscalatedTickets: 1, Escalations: 1, Rate: rate(0.25)},
		// Escalations of older tickets only: no rate, a gap in the chart, a row in the table.
		{Key: "2026-11-03", Escalations: 2},
	}, from, until)
	if len(d.Chart.Cols) != 4 {
		t.Fatalf("%d days, want Nov 1 to Nov 4", len(d.Chart.Cols))
	}
	if c := d.Chart.Cols[0]; !c.Has || c.Value != 0.25 || c.Hover != "2026-11-01: 25% escalated (1 of 4 tickets); 1 escalation" {
		t.Errorf("first day %+v", c)
	}
	if c := d.Chart.Cols[2]; c.Has || c.Hover != "2026-11-03: no tickets created; 2 escalations" {
		t.Errorf("day with escalations of older tickets %+v", c)
	}
	if c := d.Chart.Cols[1]; c.Has || c.Hover != "2026-11-02: no tickets and no escalations" {
		t.Errorf("empty day %+v", c)
	}
	if len(d.Rows) != 2 || d.Rows[1].Day != "2026-11-03" || d.Rows[1].Rate != "–" {
		t.Errorf("table rows %+v", d.Rows)
	}
	if !strings.Contains(d.Chart.Desc, "Highest: 25% on 2026-11-01.") {
		t.Errorf("description %q", d.Chart.Desc)
	}
}

func TestRateBreakdownOrder(t *testing.T) {
	rate := func(v float64) *float64 { return &v }
	bd := rateBreakdown("c", "t", []analytics.Item{
		{Key: "", Escalations: 9},
		{Key: "ana", Tickets: 10, EscalatedTickets: 2, Escalations: 3, Rate: rate(0.2)},
		{Key: "liam", Tickets: 4, EscalatedTickets: 2, Escalations: 2, Rate: rate(0.5)},
	}, func(k string) string { return cmpOr(k, "Rules (no agent)") }, "tickets the agent handled first")
	var order []string
	for _, r := range bd.Rows {
		order = append(order, r.Label+" "+r.Rate)
	}
	if got := strings.Join(order, ", "); got != "liam 50%, ana 20%, Rules (no agent) –" {
		t.Errorf("order %q: want highest rate first, no rate last", got)
	}
	if h := bd.Chart.Rows[2].Hover; h != "Rules (no agent): no tickets the agent handled first in this window; 9 escalations" {
		t.Errorf("hover without a rate %q", h)
	}
}
