package web

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The dashboard's charts are drawn here, on the server, as inline SVG: nothing to download and
// nothing to run, and the console's CSP allows them because their colours are SVG presentation
// attributes, not style. Every chart is an image with an accessible name and description
// (role="img", <title>, <desc>); every bar or column carries a <title> that browsers show on
// hover with its numbers; and the page puts a table with the same numbers under each chart for
// anyone who cannot or would rather not read a chart. A chart is drawn in a coordinate system
// chartWidth units wide and scales to its container (viewBox, width 100%): the same drawing
// fits a 1280 px screen and a phone.

// Chart geometry, in viewBox units.
const (
	chartWidth    = 400.0
	chartFontSize = 13.0
	chartTickSize = 11.0
	// chartMaxRows is how many bars a bar chart draws at most; the table lists every row.
	chartMaxRows = 12
)

// Chart colours. Text colours have at least 4.5:1 contrast against white (WCAG AA for text);
// series colours at least 3:1 against white and against the track drawn behind percentage bars
// (AA for graphics), and the two series are a blue and an orange, a pair readers with the
// common colour-vision deficiencies tell apart. dashchart_test.go checks the ratios.
const (
	colourText  = "#1b1f24"
	colourMuted = "#57606a"
	colourTrack = "#eaeef2"
	colourGrid  = "#d0d7de"
)

// seriesColours are the colours of a chart's first and second series.
var seriesColours = [...]string{"#0550ae", "#953800"}

// chartSeries names one set of values of a chart (its legend entry).
type chartSeries struct {
	Name string
}

// barRow is one category of a horizontal bar chart.
type barRow struct {
	Label string
	// Values has one value per series; NaN where the category has none (drawn as no bar).
	Values []float64
	// Text is the values as the chart prints them at the end of the label line ("67%",
	// "p50 2m · p90 9m").
	Text string
	// Hover is the sentence shown on hover over the row: the numbers in words. BarHovers,
	// when set, say each series' bar on its own (else a bar shows Hover too).
	Hover     string
	BarHovers []string
}

// barChart is a horizontal bar chart: one row per category, its label and values on a line
// and its bars (one per series) under it, so that long labels never squeeze the bars.
type barChart struct {
	// ID is unique on the page; the accessible name and description hang on it.
	ID    string
	Title string
	Desc  string
	// Series name the values; one series needs no legend.
	Series []chartSeries
	// Percent says the values are fractions 0..1: bars are then drawn on a track for the whole
	// 0..100 %, so a bar's length reads as a share at a glance. Otherwise bars are scaled to
	// the largest value.
	Percent bool
	Rows    []barRow
}

// columnChart is a column chart over a sequence, the days of a window: one column per point,
// with a y axis (0, half and the top of the scale) and the first, middle and last labels under
// the x axis. A point without data (Has false) is a gap, told apart from a zero.
type columnChart struct {
	ID    string
	Title string
	Desc  string
	// Percent says the values are fractions shown as percentages.
	Percent bool
	Cols    []column
}

// column is one point of a column chart.
type column struct {
	Label string
	Value float64
	Has   bool
	Hover string
}

// SVG draws the bar chart.
func (c barChart) SVG() template.HTML {
	rows := c.Rows
	if len(rows) > chartMaxRows {
		rows = rows[:chartMaxRows]
	}
	series := max(len(c.Series), 1)
	barH, gap := 12.0, 2.0
	if series > 1 {
		barH = 9
	}
	rowH := 18 + float64(series)*barH + float64(series-1)*gap + 10
	top := 0.0
	if series > 1 {
		top = 24 // legend
	}
	height := top + float64(len(rows))*rowH
	if len(rows) == 0 {
		height = 24
	}
	scale := 1.0
	if !c.Percent {
		peak := 0.0
		for _, r := range rows {
			for _, v := range r.Values {
				if !math.IsNaN(v) {
					peak = math.Max(peak, v)
				}
			}
		}
		scale = niceMax(peak)
	}

	var b strings.Builder
	openSVG(&b, c.ID, c.Title, c.Desc, height)
	if series > 1 {
		x := 0.0
		for i, s := range c.Series {
			fmt.Fprintf(&b, `<rect x="%s" y="4" width="12" height="12" rx="2" fill="%s"/>`, num(x), seriesColours[i%len(seriesColours)])
			fmt.Fprintf(&b, `<text x="%s" y="14.5" font-size="%s" fill="%s">%s</text>`, num(x+17), num(chartFontSize), colourText, esc(s.Name))
			x += 17 + textWidth(s.Name, chartFontSize) + 20
		}
	}
	if len(rows) == 0 {
		fmt.Fprintf(&b, `<text x="0" y="16" font-size="%s" fill="%s">No data</text>`, num(chartFontSize), colourMuted)
	}
	for i, r := range rows {
		y := top + float64(i)*rowH
		b.WriteString(`<g>`)
		fmt.Fprintf(&b, `<title>%s</title>`, esc(r.Hover))
		// A transparent rectangle over the whole row, so that hovering anywhere in it, a
		// short bar's empty end included, shows the numbers.
		fmt.Fprintf(&b, `<rect x="0" y="%s" width="%s" height="%s" fill="transparent"/>`, num(y), num(chartWidth), num(rowH))
		label := fit(r.Label, chartWidth-textWidth(r.Text, chartFontSize)-10, chartFontSize)
		fmt.Fprintf(&b, `<text x="0" y="%s" font-size="%s" fill="%s">%s</text>`, num(y+13), num(chartFontSize), colourText, esc(label))
		fmt.Fprintf(&b, `<text x="%s" y="%s" font-size="%s" fill="%s" text-anchor="end" font-weight="600">%s</text>`,
			num(chartWidth), num(y+13), num(chartFontSize), colourText, esc(r.Text))
		for j := range series {
			v := math.NaN()
			if j < len(r.Values) {
				v = r.Values[j]
			}
			by := y + 18 + float64(j)*(barH+gap)
			if c.Percent {
				fmt.Fprintf(&b, `<rect x="0" y="%s" width="%s" height="%s" rx="2" fill="%s"/>`, num(by), num(chartWidth), num(barH), colourTrack)
			}
			if math.IsNaN(v) || v <= 0 {
				continue
			}
			w := math.Max(math.Min(v/scale, 1)*chartWidth, 1.5)
			hover := r.Hover
			if j < len(r.BarHovers) {
				hover = r.BarHovers[j]
			}
			fmt.Fprintf(&b, `<rect x="0" y="%s" width="%s" height="%s" rx="2" fill="%s"><title>%s</title></rect>`,
				num(by), num(w), num(barH), seriesColours[j%len(seriesColours)], esc(hover))
		}
		b.WriteString(`</g>`)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// SVG draws the column chart.
func (c columnChart) SVG() template.HTML {
	const height, left, right, top, bottom = 180.0, 38.0, 4.0, 8.0, 22.0
	plotW, plotH := chartWidth-left-right, height-top-bottom
	peak := 0.0
	for _, col := range c.Cols {
		if col.Has {
			peak = math.Max(peak, col.Value)
		}
	}
	scale := niceMax(peak)
	if c.Percent {
		scale = math.Min(scale, 1)
	}
	var b strings.Builder
	openSVG(&b, c.ID, c.Title, c.Desc, height)
	for _, f := range []float64{0, 0.5, 1} {
		y := top + plotH - f*plotH
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1"/>`, num(left), num(y), num(chartWidth-right), num(y), colourGrid)
		fmt.Fprintf(&b, `<text x="%s" y="%s" font-size="%s" fill="%s" text-anchor="end">%s</text>`,
			num(left-4), num(y+4), num(chartTickSize), colourMuted, esc(tickLabel(f*scale, c.Percent)))
	}
	n := len(c.Cols)
	if n == 0 {
		fmt.Fprintf(&b, `<text x="%s" y="%s" font-size="%s" fill="%s">No data</text>`, num(left+8), num(top+plotH/2), num(chartFontSize), colourMuted)
	}
	slot := plotW / float64(max(n, 1))
	barW := math.Max(slot*0.7, 1)
	for i, col := range c.Cols {
		x := left + float64(i)*slot
		b.WriteString(`<g>`)
		fmt.Fprintf(&b, `<title>%s</title>`, esc(col.Hover))
		fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s" fill="transparent"/>`, num(x), num(top), num(slot), num(plotH))
		if col.Has {
			// A zero is a sliver on the axis, so that it differs from a day without data.
			h := math.Max(math.Min(col.Value/scale, 1)*plotH, 1.5)
			fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s</title></rect>`,
				num(x+(slot-barW)/2), num(top+plotH-h), num(barW), num(h), seriesColours[0], esc(col.Hover))
		}
		b.WriteString(`</g>`)
	}
	if n > 0 {
		labels := []struct {
			i      int
			anchor string
		}{{0, "start"}}
		if n > 2 {
			labels = append(labels, struct {
				i      int
				anchor string
			}{n / 2, "middle"})
		}
		if n > 1 {
			labels = append(labels, struct {
				i      int
				anchor string
			}{n - 1, "end"})
		}
		for _, l := range labels {
			x := left + float64(l.i)*slot
			switch l.anchor {
			case "middle":
				x += slot / 2
			case "end":
				x += slot
			}
			fmt.Fprintf(&b, `<text x="%s" y="%s" font-size="%s" fill="%s" text-anchor="%s">%s</text>`,
				num(x), num(height-6), num(chartTickSize), colourMuted, l.anchor, esc(c.Cols[l.i].Label))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// openSVG writes the chart's root element with its accessible name and description.
func openSVG(b *strings.Builder, id, title, desc string, height float64) {
	id = esc(id)
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="%s" role="img" viewBox="0 0 %s %s" width="100%%" `+
		`preserveAspectRatio="xMinYMin meet" aria-labelledby="%s-title %s-desc">`, id, num(chartWidth), num(math.Ceil(height)), id, id)
	fmt.Fprintf(b, `<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, id, esc(title), id, esc(desc))
}

// niceMax rounds a chart's largest value up to a round top of scale: 1, 2, 2.5 or 5 times a
// power of ten (0.37 -> 0.5, 7 -> 10, 130 -> 200). Nothing to show gets a scale of 1.
func niceMax(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	exp := math.Pow(10, math.Floor(math.Log10(v)))
	f := v / exp
	for _, m := range []float64{1, 2, 2.5, 5} {
		if f <= m*(1+1e-9) {
			return m * exp
		}
	}
	return 10 * exp
}

// tickLabel writes an axis value: a percentage or a count, without trailing zeros.
func tickLabel(v float64, percent bool) string {
	if percent {
		return strconv.FormatFloat(math.Round(v*1000)/10, 'f', -1, 64) + "%"
	}
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}

// textWidth estimates how wide a string draws at size in a proportional system font (about
// 0.56 em a character on average); good enough to keep labels clear of the values.
func textWidth(s string, size float64) float64 {
	return float64(utf8.RuneCountInString(s)) * size * 0.56
}

// fit shortens s with an ellipsis to draw within width; the full text stays in the row's
// hover text and in the table.
func fit(s string, width, size float64) string {
	maxRunes := int(width / (size * 0.56))
	if utf8.RuneCountInString(s) <= maxRunes {
		return s
	}
	if maxRunes < 2 {
		return "…"
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:maxRunes-1])) + "…"
}

// num writes a coordinate with at most one decimal.
func num(v float64) string {
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

// esc escapes text for an SVG element or attribute inside HTML.
func esc(s string) string { return template.HTMLEscapeString(s) }
