package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Target is a target and what the run measured against it.
type Target struct {
	Target   string  `json:"target"`
	Measured float64 `json:"measured"`
	Met      bool    `json:"met"`
	Missing  bool    `json:"missing,omitempty"` // the run did not measure the metric
}

// goal is a parsed --target: METRIC OP VALUE.
type goal struct {
	metric, op string
	value      float64
}

var targetOps = []string{"<=", ">=", "<", ">", "="}

func parseTargets(specs []string) ([]goal, error) {
	var out []goal
	for _, s := range specs {
		s = strings.ReplaceAll(strings.TrimSpace(s), " ", "")
		if s == "" {
			continue
		}
		var t goal
		for _, op := range targetOps {
			if m, v, ok := strings.Cut(s, op); ok {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					return nil, fmt.Errorf("--target %s: %q is not a number", s, v)
				}
				t = goal{metric: m, op: op, value: f}
				break
			}
		}
		if t.op == "" {
			return nil, fmt.Errorf("--target %s: want METRIC<=N, METRIC>=N, METRIC<N, METRIC>N or METRIC=N", s)
		}
		if _, known := metrics[t.metric]; !known {
			return nil, fmt.Errorf("--target %s: unknown metric %q; known: %s", s, t.metric, strings.Join(slices.Sorted(maps.Keys(metrics)), ", "))
		}
		out = append(out, t)
	}
	return out, nil
}

// metrics read one figure of a result; ok is false when it was not measured.
var metrics = map[string]func(r *Result) (float64, bool){
	"lost": func(r *Result) (float64, bool) {
		return deliveriesInt(r, func(d *Deliveries) int64 { return d.Lost })
	},
	"duplicates": duplicatesOf,
	"p50": func(r *Result) (float64, bool) {
		return latencyOf(r, func(l *Latency) float64 { return l.P50 })
	},
	"p95": func(r *Result) (float64, bool) {
		return latencyOf(r, func(l *Latency) float64 { return l.P95 })
	},
	"p99": func(r *Result) (float64, bool) {
		return latencyOf(r, func(l *Latency) float64 { return l.P99 })
	},
	"max": func(r *Result) (float64, bool) {
		return latencyOf(r, func(l *Latency) float64 { return l.Max })
	},
	"delivered_per_s": func(r *Result) (float64, bool) {
		return deliveriesFloat(r, func(d *Deliveries) float64 { return d.PerSec })
	},
	"sends_per_s": func(r *Result) (float64, bool) {
		if r.Sends == nil {
			return 0, false
		}
		return r.Sends.PerSec, true
	},
	"rss_per_conn_kib": func(r *Result) (float64, bool) {
		if r.Idle == nil {
			return 0, false
		}
		return r.Idle.PerConnKiB, true
	},
	"failed_connections": func(r *Result) (float64, bool) {
		if r.Idle == nil {
			return 0, false
		}
		return float64(r.Idle.Failed), true
	},
	"missed": func(r *Result) (float64, bool) {
		switch {
		case r.Resume != nil:
			return float64(r.Resume.Missed), true
		case r.Gap != nil:
			return float64(r.Gap.Missed), true
		}
		return 0, false
	},
	"recovered_pct": func(r *Result) (float64, bool) {
		switch {
		case r.Resume != nil:
			return r.Resume.RecoveredPct, true
		case r.Gap != nil:
			return r.Gap.RecoveredPct, true
		}
		return 0, false
	},
	"resume_p99": func(r *Result) (float64, bool) {
		switch {
		case r.Resume != nil && r.Resume.ResumeMs != nil:
			return r.Resume.ResumeMs.P99, true
		case r.Gap != nil && len(r.Gap.Runs) > 0:
			var worst float64 // the slowest N's
			for _, run := range r.Gap.Runs {
				worst = max(worst, run.ResumeMs.P99)
			}
			return worst, true
		}
		return 0, false
	},
}

func deliveriesInt(r *Result, f func(*Deliveries) int64) (float64, bool) {
	if r.Deliveries == nil {
		return 0, false
	}
	return float64(f(r.Deliveries)), true
}

func deliveriesFloat(r *Result, f func(*Deliveries) float64) (float64, bool) {
	if r.Deliveries == nil {
		return 0, false
	}
	return f(r.Deliveries), true
}

func latencyOf(r *Result, f func(*Latency) float64) (float64, bool) {
	if r.LatencyMs == nil || r.LatencyMs.Samples == 0 {
		return 0, false
	}
	return f(r.LatencyMs), true
}

func duplicatesOf(r *Result) (float64, bool) {
	switch {
	case r.Deliveries != nil:
		return float64(r.Deliveries.Duplicates), true
	case r.Resume != nil:
		return float64(r.Resume.Duplicates), true
	case r.Gap != nil:
		return float64(r.Gap.Duplicates), true
	}
	return 0, false
}

func (t goal) String() string {
	return t.metric + " " + t.op + " " + strconv.FormatFloat(t.value, 'f', -1, 64)
}

func (t goal) check(r *Result) Target {
	v, ok := metrics[t.metric](r)
	out := Target{Target: t.String(), Measured: v, Missing: !ok}
	if !ok {
		return out
	}
	switch t.op {
	case "<=":
		out.Met = v <= t.value
	case ">=":
		out.Met = v >= t.value
	case "<":
		out.Met = v < t.value
	case ">":
		out.Met = v > t.value
	case "=":
		out.Met = v == t.value
	}
	return out
}

// resultMarkdown renders one result as a heading and a table.
func resultMarkdown(r *Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n%s over %s against %s; %s.\n\n", r.Name, r.Scenario, r.Transport, r.URL, paramsText(r.Params))
	b.WriteString("| measure | value |\n|---|---|\n")
	row := func(k, format string, args ...any) { fmt.Fprintf(&b, "| %s | %s |\n", k, fmt.Sprintf(format, args...)) }
	row("machine", "%d CPUs (%s), %d MiB, %s; 1-minute load average %.1f at the start", r.Machine.CPUs, r.Machine.CPUModel,
		r.Machine.MemoryMiB, r.Machine.Go, r.Machine.LoadAvg)
	s := r.Setup
	row("setup", "%d identities, %d threads in %.1f s; %d connections live in %.1f s", s.Identities, s.Threads, s.SetupSeconds, s.Connections, s.ConnectSeconds)
	if x := r.Sends; x != nil {
		row("sends accepted", "%d of %d in %.1f s (%.1f/s), %d failed%s", x.Accepted, x.Attempted, x.Seconds, x.PerSec, x.Failed, errorsText(x.Errors))
		if x.RequestMs != nil {
			row("send request p50 / p99 / max", "%s / %s / %s ms", msText(x.RequestMs.P50), msText(x.RequestMs.P99), msText(x.RequestMs.Max))
		}
		if _, fixed := r.Params["rate"]; fixed {
			row("sender behind schedule, at most", "%s ms", msText(x.MaxLagMs))
		}
	}
	if d := r.Deliveries; d != nil {
		row("deliveries", "%d of %d expected: %d lost, %d duplicates", d.Delivered, d.Expected, d.Lost, d.Duplicates)
		if d.Seconds > 0 {
			row("delivered events/s", "%.0f (first send to last delivery, %.1f s)", d.PerSec, d.Seconds)
		}
	}
	if l := r.LatencyMs; l != nil && l.Samples > 0 {
		row("send-to-receive p50 / p95 / p99 / max", "%s / %s / %s / %s ms (%d samples)", msText(l.P50), msText(l.P95), msText(l.P99), msText(l.Max), l.Samples)
	}
	if i := r.Idle; i != nil {
		row("idle connections", "%d open (%d failed) from %d process(es), opened at %.0f/s", i.Connections, i.Failed, i.Procs, i.ConnectsPerSec)
		row("server RSS before / with them", "%.1f / %.1f MiB", i.RSSBeforeMiB, i.RSSAfterMiB)
		row("server RSS per connection", "%.1f KiB", i.PerConnKiB)
	}
	if x := r.Resume; x != nil {
		row("drops and resumes", "%d clients dropped %d times in all (gaps %s to %s ms), %d resumes", x.Clients, x.Drops, msText(x.GapMinMs), msText(x.GapMaxMs), x.Resumes)
		row("events replayed on resume", "%d", x.Replayed)
		row("missed / duplicated after resume", "%d / %d of %d expected (%.1f%% of missed events recovered)", x.Missed, x.Duplicates, x.Expected, x.RecoveredPct)
		if l := x.ResumeMs; l != nil {
			row("resume time p50 / p99 / max", "%s / %s / %s ms (open to caughtUp)", msText(l.P50), msText(l.P99), msText(l.Max))
		}
		if l := x.ReconnectMs; l != nil {
			row("drop to caughtUp, beyond the gap, p50 / p99 / max", "%s / %s / %s ms (includes client backoff)", msText(l.P50), msText(l.P99), msText(l.Max))
		}
	}
	if x := r.Gap; x != nil {
		for _, run := range x.Runs {
			l := run.ResumeMs
			row(fmt.Sprintf("resume after %d missed, %d rounds", run.Gap, run.Rounds),
				"%d of %d recovered before caughtUp, %d missed, %d duplicates; open to caughtUp p50 %s ms, max %s ms (welcome p50 %s ms); %.0f events/s",
				run.Recovered, run.Expected, run.Missed, run.Duplicates, msText(l.P50), msText(l.Max), msText(run.WelcomeMs.P50), run.EventsPerSec)
			if run.AfterCaughtUp+int64(run.Retries+run.ResumeFailed) > 0 {
				row(fmt.Sprintf("resume after %d missed: irregular", run.Gap), "%d after caughtUp, %d reconnects, %d resume failures",
					run.AfterCaughtUp, run.Retries, run.ResumeFailed)
			}
		}
	}
	if p := r.Server; p != nil {
		row("server CPU", "%.0f%% of one core (average over %.1f s)", p.CPUPercent, p.Seconds)
		row("server RSS start / peak / end", "%.1f / %.1f / %.1f MiB", p.RSSStartMiB, p.RSSPeakMiB, p.RSSEndMiB)
	}
	if p := r.LoadGen; p != nil {
		row("load generator CPU", "%.0f%% of one core", p.CPUPercent)
	}
	if len(r.Closes) > 0 {
		row("connections ended by the server", "%s", errorsText(r.Closes)[2:])
	}
	if len(r.Targets) > 0 {
		b.WriteString("\n| target | measured | met |\n|---|---|---|\n")
		for _, t := range r.Targets {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", t.Target, measured(t), yesNo(t))
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\nNote: %s\n", n)
	}
	return b.String() + "\n"
}

func paramsText(p map[string]any) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(p)) {
		parts = append(parts, fmt.Sprintf("%s=%v", k, p[k]))
	}
	return strings.Join(parts, " ")
}

func errorsText(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%d × %s", m[k], k))
	}
	if len(parts) == 0 {
		return ""
	}
	return ", " + strings.Join(parts, ", ")
}

func msText(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func measured(t Target) string {
	if t.Missing {
		return "not measured"
	}
	return strconv.FormatFloat(t.Measured, 'f', -1, 64)
}

func yesNo(t Target) string {
	switch {
	case t.Missing:
		return "?"
	case t.Met:
		return "yes"
	}
	return "**no**"
}

// ReportCmd is "bench report": the results of several runs as one
// summary, for bench/README.md.
type ReportCmd struct {
	Files []string `arg:"" name:"file" type:"existingfile" help:"Result files written by --out (NAME.json)."`
}

// Run prints the summary tables.
func (c *ReportCmd) Run(env *Env) error {
	var rs []*Result
	for _, f := range c.Files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var r Result
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		rs = append(rs, &r)
	}
	return writeReport(env.Stdout, rs)
}

func writeReport(w io.Writer, rs []*Result) error {
	var b strings.Builder
	if len(rs) > 0 {
		m := rs[0].Machine
		fmt.Fprintf(&b, "Measured %s on %d CPUs (%s), %d MiB of memory, %s %s; server and load generator on the same machine",
			rs[0].At.Format("2006-01-02"), m.CPUs, m.CPUModel, m.MemoryMiB, m.Go, m.OS)
		var loads []string
		for _, r := range rs {
			loads = append(loads, strconv.FormatFloat(r.Machine.LoadAvg, 'f', 1, 64))
		}
		fmt.Fprintf(&b, "; 1-minute load average at the start of each run: %s.\n\n", strings.Join(loads, ", "))
	}
	b.WriteString("| result | target | measured | met |\n|---|---|---|---|\n")
	for _, r := range rs {
		for _, t := range r.Targets {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", r.Name, t.Target, measured(t), yesNo(t))
		}
	}
	b.WriteString("\n| result | setup | accepted sends/s | delivered events/s | lost | dup | p50 ms | p95 ms | p99 ms | max ms | server CPU | server RSS peak |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		if r.Deliveries == nil || r.Sends == nil || r.Resume != nil {
			continue // resume has its own line below
		}
		l := r.LatencyMs
		if l == nil {
			l = &Latency{}
		}
		fmt.Fprintf(&b, "| %s | %s | %.0f | %.0f | %d | %d | %s | %s | %s | %s | %s | %s |\n", r.Name, paramsText(r.Params), r.Sends.PerSec,
			r.Deliveries.PerSec, r.Deliveries.Lost, r.Deliveries.Duplicates, msText(l.P50), msText(l.P95), msText(l.P99), msText(l.Max), cpuText(r.Server), rssText(r.Server))
	}
	for _, r := range rs {
		if i := r.Idle; i != nil {
			fmt.Fprintf(&b, "\n%s: %d idle %s connections (%d failed, %d client processes): server RSS %.1f → %.1f MiB, **%.1f KiB per connection**.\n",
				r.Name, i.Connections, r.Transport, i.Failed, i.Procs, i.RSSBeforeMiB, i.RSSAfterMiB, i.PerConnKiB)
		}
		if x := r.Resume; x != nil {
			rt := x.ResumeMs
			if rt == nil {
				rt = &Latency{}
			}
			fmt.Fprintf(&b, "\n%s: %d clients dropped %d times (gaps %s–%s ms) while %d messages were sent; %d events replayed on resume; "+
				"**%d missed, %d duplicated** of %d expected (%.1f%% recovered); resume (open to caughtUp) p50 %s ms, p99 %s ms, max %s ms.\n",
				r.Name, x.Clients, x.Drops, msText(x.GapMinMs), msText(x.GapMaxMs), sentOf(r), x.Replayed, x.Missed, x.Duplicates, x.Expected,
				x.RecoveredPct, msText(rt.P50), msText(rt.P99), msText(rt.Max))
		}
		if x := r.Gap; x != nil {
			for _, run := range x.Runs {
				fmt.Fprintf(&b, "\n%s: resume after %d missed events (%d rounds): **%d of %d recovered before caughtUp, %d missed, %d duplicated**; "+
					"open to caughtUp p50 %s ms, max %s ms; %.0f events/s.\n", r.Name, run.Gap, run.Rounds, run.Recovered, run.Expected,
					run.Missed, run.Duplicates, msText(run.ResumeMs.P50), msText(run.ResumeMs.Max), run.EventsPerSec)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func sentOf(r *Result) int64 {
	if r.Sends == nil {
		return 0
	}
	return r.Sends.Accepted
}

func cpuText(p *Proc) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", p.CPUPercent)
}

func rssText(p *Proc) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.0f MiB", p.RSSPeakMiB)
}
