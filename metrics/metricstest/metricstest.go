// Package metricstest reads the metric names the committed Grafana
// dashboard and Prometheus alert rules use, so that tests can check them
// against what Herald exports.
package metricstest

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Dashboard and Alerts are the deploy files, relative to the module root.
const (
	Dashboard = "deploy/grafana/herald.json"
	Alerts    = "deploy/prometheus/alerts.yml"
)

// nameRE matches PromQL identifiers; Names keeps those of Herald's own, Go
// runtime and process metrics (functions, label names and `up` are not).
var nameRE = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)

func exported(name string) bool {
	return strings.HasPrefix(name, "herald_") || strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_")
}

// Names returns the metric names (sorted, without duplicates) that the
// dashboard's queries and the alert rules' expressions use, as written
// (a histogram's herald_x_bucket stays so: see Family). root is the module
// root. It fails tb if a file cannot be read or parsed, or uses no metric.
func Names(tb testing.TB, root string) []string {
	tb.Helper()
	var exprs []string
	b, err := os.ReadFile(filepath.Join(root, Dashboard))
	if err != nil {
		tb.Fatalf("read dashboard: %v", err)
	}
	var dash any
	if err := json.Unmarshal(b, &dash); err != nil {
		tb.Fatalf("%s is not JSON: %v", Dashboard, err)
	}
	collectJSON(dash, &exprs)
	exprs = append(exprs, alertExprs(tb, filepath.Join(root, Alerts))...)
	var names []string
	for _, e := range exprs {
		for _, n := range nameRE.FindAllString(e, -1) {
			if exported(n) {
				names = append(names, n)
			}
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	if len(names) == 0 {
		tb.Fatalf("the deploy files use no metric, want some")
	}
	return names
}

// collectJSON gathers every "expr" and "query" string of a dashboard.
func collectJSON(v any, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && (k == "expr" || k == "query") {
				*out = append(*out, s)
				continue
			}
			collectJSON(x, out)
		}
	case []any:
		for _, x := range v {
			collectJSON(x, out)
		}
	}
}

// alertExprs returns the expr values of a rules file: on the key's line,
// or in the more indented lines of a block (expr: | or >).
func alertExprs(tb testing.TB, path string) []string {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatalf("read alert rules: %v", err)
	}
	defer f.Close()
	var exprs []string
	sc := bufio.NewScanner(f)
	block, indent := false, 0
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimLeft(line, " ")
		depth := len(line) - len(trimmed)
		if block {
			if trimmed == "" || depth > indent {
				exprs[len(exprs)-1] += " " + trimmed
				continue
			}
			block = false
		}
		rest, ok := strings.CutPrefix(trimmed, "expr:")
		if !ok {
			continue
		}
		rest = strings.TrimSpace(rest)
		exprs = append(exprs, strings.Trim(rest, `"'`))
		if strings.HasPrefix(rest, "|") || strings.HasPrefix(rest, ">") {
			exprs[len(exprs)-1] = ""
			block, indent = true, depth
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("read alert rules: %v", err)
	}
	if len(exprs) == 0 {
		tb.Fatalf("%s has no expr, want alert rules", Alerts)
	}
	return exprs
}

// Family returns the metric family a series name belongs to: a
// histogram's or summary's _bucket, _sum and _count series belong to the
// family without the suffix, if families has it.
func Family(name string, families map[string]bool) string {
	if families[name] {
		return name
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && families[base] {
			return base
		}
	}
	return name
}
