package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// document is what -json writes: every run of one invocation, each with
// every figure it printed.
type document struct {
	Tool    string    `json:"tool"`
	Started time.Time `json:"started"`
	Machine machine   `json:"machine"`
	Runs    []*run    `json:"runs"`
}

type machine struct {
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	// LoadAverage is /proc/loadavg at the start: other work on the
	// machine shows here, and it makes latencies worse.
	LoadAverage string `json:"load_average,omitempty"`
}

// run is one benchmark: its tables (each row's cells as printed, and the
// numbers in them), the other lines it printed, and its log.
type run struct {
	Scenario string    `json:"scenario"`
	Args     []string  `json:"args"`
	Started  time.Time `json:"started"`
	Seconds  float64   `json:"seconds"`
	// LoadAverage is /proc/loadavg when the run started.
	LoadAverage string   `json:"load_average,omitempty"`
	Tables      []table  `json:"tables"`
	Lines       []string `json:"lines,omitempty"`
	Log         []string `json:"log,omitempty"`
	Error       string   `json:"error,omitempty"`
}

// table is one Markdown table the run printed. Title is the last line
// printed before it, if any.
type table struct {
	Title   string   `json:"title,omitempty"`
	Columns []string `json:"columns"`
	Rows    []row    `json:"rows"`
}

// row holds each cell as printed and, for cells that start with a number,
// that number: durations in seconds ("1.29 ms" is 0.00129), "312 (52%)"
// is 312, "2×" is 2.
type row struct {
	Cells  map[string]string  `json:"cells"`
	Values map[string]float64 `json:"values,omitempty"`
}

// jsonFlag takes "-json FILE" (or -json=FILE) out of a benchmark's
// arguments.
func jsonFlag(args []string) (rest []string, path string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-json" || a == "--json":
			if i+1 >= len(args) {
				return nil, "", errors.New("-json needs a file name")
			}
			path = args[i+1]
			i++
		case strings.HasPrefix(a, "-json=") || strings.HasPrefix(a, "--json="):
			_, path, _ = strings.Cut(a, "=")
		default:
			rest = append(rest, a)
		}
	}
	return rest, path, nil
}

func newDocument() *document {
	return &document{Tool: "clau-bench", Started: time.Now().UTC(), Machine: machine{CPUs: runtime.NumCPU(),
		GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH, LoadAverage: loadAverage()}}
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// runReported runs one benchmark, printing as it goes and, with jsonPath,
// writing the JSON document there.
func runReported(name string, args []string, jsonPath string, out, log io.Writer) error {
	doc := newDocument()
	err := doc.capture(name, args, out, log)
	if jsonPath != "" && !errors.Is(err, errUnknownScenario) && !errors.Is(err, flag.ErrHelp) {
		if werr := doc.write(jsonPath); werr != nil {
			return errors.Join(err, werr)
		}
	}
	return err
}

// capture runs a benchmark with its output and log passed through and
// recorded into a new run of doc.
func (doc *document) capture(name string, args []string, out, log io.Writer) error {
	r := &run{Scenario: name, Args: args, Started: time.Now().UTC(), LoadAverage: loadAverage()}
	if r.Args == nil {
		r.Args = []string{}
	}
	var o, l lockedBuffer
	err := runScenario(name, args, io.MultiWriter(out, &o), io.MultiWriter(log, &l))
	r.Seconds = time.Since(r.Started).Seconds()
	r.Tables, r.Lines = parseOutput(o.String())
	r.Log = lines(l.String())
	if err != nil {
		r.Error = err.Error()
	}
	doc.Runs = append(doc.Runs, r)
	return err
}

func (doc *document) write(path string) error {
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// lockedBuffer is a bytes.Buffer several goroutines may write to.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func lines(s string) []string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if l = strings.TrimRight(l, " \r"); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// parseOutput splits what a benchmark printed into its Markdown tables
// and its other lines.
func parseOutput(s string) ([]table, []string) {
	var (
		tables []table
		other  []string
		cur    *table
		last   string
	)
	for _, l := range lines(s) {
		cells, isRow := tableCells(l)
		switch {
		case !isRow:
			cur = nil
			other = append(other, l)
			last = l
		case cur == nil:
			tables = append(tables, table{Title: last, Columns: cells})
			cur = &tables[len(tables)-1]
		case isRule(cells):
		default:
			r := row{Cells: map[string]string{}}
			for i, c := range cells {
				col := fmt.Sprintf("column %d", i+1)
				if i < len(cur.Columns) {
					col = cur.Columns[i]
				}
				r.Cells[col] = c
				if v, ok := cellValue(c); ok {
					if r.Values == nil {
						r.Values = map[string]float64{}
					}
					r.Values[col] = v
				}
			}
			cur.Rows = append(cur.Rows, r)
		}
	}
	return tables, other
}

func tableCells(l string) ([]string, bool) {
	l = strings.TrimSpace(l)
	if len(l) < 2 || l[0] != '|' || l[len(l)-1] != '|' {
		return nil, false
	}
	var cells []string
	for c := range strings.SplitSeq(l[1:len(l)-1], "|") {
		cells = append(cells, strings.TrimSpace(c))
	}
	return cells, true
}

func isRule(cells []string) bool {
	for _, c := range cells {
		if strings.Trim(c, ":-") != "" || c == "" {
			return false
		}
	}
	return true
}

var leadingNumber = regexp.MustCompile(`^(-?[0-9]+(?:\.[0-9]+)?)\s*(µs|us|ms|s|%|×)?(?:\s|$|\()`)

// cellValue is the number a cell starts with, durations in seconds.
func cellValue(c string) (float64, bool) {
	m := leadingNumber.FindStringSubmatch(c)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, false
	}
	switch m[2] {
	case "µs", "us":
		v /= 1e6
	case "ms":
		v /= 1e3
	}
	return v, true
}
