package analytics

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
)

// Formats `escalated report` writes.
var Formats = []string{"table", "csv", "json"}

// Write renders rep in format (table, csv or json).
func Write(w io.Writer, rep *Report, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	case "csv":
		return writeCSV(w, rep)
	case "table", "":
		return writeTable(w, rep)
	}
	return fmt.Errorf("unknown format %q (table, csv or json)", format)
}

// columns are the report's columns in order, with how each item shows in them.
var columns = []struct {
	name string
	get  func(Item) string
}{
	{"tickets", func(i Item) string { return strconv.Itoa(i.Tickets) }},
	{"escalations", func(i Item) string { return strconv.Itoa(i.Escalations) }},
	{"rate", func(i Item) string { return pct(i.Rate) }},
	{"share", func(i Item) string { return pct(i.Share) }},
	{"tte_p50", func(i Item) string { return dur(i.TimeToEscalateP50) }},
	{"tte_p90", func(i Item) string { return dur(i.TimeToEscalateP90) }},
	{"tta_p50", func(i Item) string { return dur(i.TimeToAckP50) }},
	{"tta_p90", func(i Item) string { return dur(i.TimeToAckP90) }},
	{"returned", func(i Item) string { return pct(i.Returned) }},
	{"unnecessary", func(i Item) string { return pct(i.Unnecessary) }},
	{"resolved_at_target", func(i Item) string { return pct(i.ResolvedAtTarget) }},
	{"re_escalated", func(i Item) string { return pct(i.ReEscalated) }},
	{"completeness", func(i Item) string { return pct(i.MeanCompleteness) }},
	{"context_insufficient", func(i Item) string { return pct(i.ContextInsufficient) }},
}

func writeTable(w io.Writer, rep *Report) error {
	fmt.Fprintf(w, "escalations by %s, %s to %s", rep.GroupBy, rep.Since, rep.Until)
	if rep.Team != "" {
		fmt.Fprintf(w, ", team %s", rep.Team)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, rep.GroupBy+"\t")
	for _, c := range columns {
		fmt.Fprint(tw, c.name+"\t")
	}
	fmt.Fprintln(tw)
	for _, it := range rep.Items {
		key := it.Key
		if key == "" {
			key = "(none)"
		}
		fmt.Fprint(tw, key+"\t")
		for _, c := range columns {
			fmt.Fprint(tw, c.get(it)+"\t")
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	o := rep.Outcomes
	fmt.Fprintf(w, "\noutcomes over %d tickets and %d escalations\n", o.Tickets, o.Escalations)
	fmt.Fprintf(w, "  first contact resolution      %s (%d)\n", pct(o.FirstContactResolution), o.FirstContactResolved)
	fmt.Fprintf(w, "  under-escalation: breached before escalation %d, reopened after a tier-1 solve then escalated %d, high frustration never escalated %d\n",
		o.BreachedBeforeEscalation, o.ReopenedAfterT1Solve, o.HighFrustrationUnescalated)
	fmt.Fprintf(w, "  over-escalation: returned as unnecessary %d, solved at the target within %s without a note %d\n",
		o.ReturnedUnnecessary, dur(&o.QuickSolveSeconds), o.QuickSolveNoNote)
	fmt.Fprintf(w, "  ping-pong escalations %d\n", o.PingPongs)
	return nil
}

func writeCSV(w io.Writer, rep *Report) error {
	cw := csv.NewWriter(w)
	head := []string{rep.GroupBy}
	for _, c := range columns {
		head = append(head, c.name)
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, it := range rep.Items {
		row := []string{it.Key}
		for _, c := range columns {
			v := c.get(it)
			if v == "-" {
				v = ""
			}
			row = append(row, v)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// pct shows a fraction as a percentage with one decimal, "-" for none.
func pct(v *float64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v*100, 'f', 1, 64) + "%"
}

// dur shows seconds as a short duration, "-" for none.
func dur(v *float64) string {
	if v == nil {
		return "-"
	}
	s := *v
	switch {
	case s < 60:
		return strconv.FormatFloat(s, 'f', 0, 64) + "s"
	case s < 3600:
		return strconv.FormatFloat(s/60, 'f', 1, 64) + "m"
	case s < 86400:
		return strconv.FormatFloat(s/3600, 'f', 1, 64) + "h"
	}
	return strconv.FormatFloat(s/86400, 'f', 1, 64) + "d"
}

// WriteInsights renders insights as numbered sentences (table) or JSON.
func WriteInsights(w io.Writer, ins *Insights, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(ins)
	}
	fmt.Fprintf(w, "insights, %s to %s", ins.Since, ins.Until)
	if ins.Team != "" {
		fmt.Fprintf(w, ", team %s", ins.Team)
	}
	fmt.Fprintf(w, " (no finding from fewer than %d tickets or escalations)\n", ins.Options.MinSample)
	if len(ins.Items) == 0 {
		fmt.Fprintln(w, "  nothing stands out")
	}
	for i, it := range ins.Items {
		fmt.Fprintf(w, "%2d. %s\n    %s\n", i+1, it.Text, it.Query)
	}
	return nil
}
