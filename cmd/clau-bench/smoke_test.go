package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Every scenario of `clau-bench all` runs end to end against a real clau
// serve for a moment and finishes without a failed operation, and the
// JSON document holds each run's tables. It measures nothing: it keeps
// the tool from rotting.
func TestEveryScenarioRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a clau serve per scenario (about a minute)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "clau")
	build := exec.Command("go", "build", "-o", bin, "github.com/clau-eid/clau/cmd/clau")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building clau: %v\n%s", err, out)
	}
	jsonPath := filepath.Join(dir, "bench.json")
	var out, log bytes.Buffer
	if err := runAll([]string{"-smoke", "-clau", bin}, jsonPath, &out, &log); err != nil {
		t.Fatalf("clau-bench all -smoke: %v\n%s\n%s", err, out.String(), log.String())
	}
	raw, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc document
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, b := range benchmarks {
		if b.smoke != nil {
			want = append(want, b.scenario)
		}
	}
	var got []string
	for _, r := range doc.Runs {
		got = append(got, r.Scenario)
		if r.Error != "" {
			t.Errorf("%s: %s", r.Scenario, r.Error)
		}
		if len(r.Tables) == 0 || len(r.Tables[0].Rows) == 0 {
			t.Errorf("%s printed no table rows:\n%s", r.Scenario, out.String())
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("runs %v, want %v", got, want)
	}
	// signin and oidc read the sign-ins against a hash-only ceiling, and
	// saml its responses against an XML-signature ceiling, measured in
	// the same run.
	for _, r := range doc.Runs {
		var figures []string
		switch r.Scenario {
		case "signin", "oidc":
			figures = []string{"of the hash-only ceiling", "server CPU beyond the hash"}
		case "saml":
			figures = []string{"per core, of the signing ceiling"}
		default:
			continue
		}
		for _, f := range figures {
			if _, ok := r.Tables[0].Rows[0].Values[f]; !ok {
				t.Errorf("%s: no %q in %v", r.Scenario, f, r.Tables[0].Rows[0].Cells)
			}
		}
		i := slices.IndexFunc(r.Tables, func(tb table) bool { return strings.Contains(tb.Title, "ceiling") })
		if i < 0 || len(r.Tables[i].Rows) == 0 {
			t.Errorf("%s: no ceiling table", r.Scenario)
			continue
		}
		// saml's has a row per kind of response (the slices measured
		// after its rounds) and one before the server started.
		for _, row := range r.Tables[i].Rows {
			cpu := 0.0
			for col, v := range row.Values {
				if strings.HasPrefix(col, "CPU per") {
					cpu = v
				}
			}
			if cpu <= 0 {
				t.Errorf("%s ceiling: no CPU per operation in %v", r.Scenario, row.Cells)
			}
		}
	}
	// The token scenario measures both algorithms, each with exchanges.
	for _, r := range doc.Runs {
		if r.Scenario != "token" {
			continue
		}
		var algs []string
		for _, row := range r.Tables[0].Rows {
			algs = append(algs, row.Cells["ID token"])
			if row.Values["exchanges"] < 1 || row.Values["server CPU per exchange"] <= 0 {
				t.Errorf("token row %v", row)
			}
		}
		if !slices.Equal(algs, []string{"ES256", "RS256"}) {
			t.Errorf("token rows for %v", algs)
		}
	}
}

func TestParseOutput(t *testing.T) {
	text := "full flows\n| load | p99 | refused (503) | argon2id (m KiB, t, p) |\n| ---: | ---: | ---: | --- |\n" +
		"| 2× | 859.97 ms | 312 (52%) | 65536, 3, 2 |\n| 0.5× | 1.19 s | 0 (0%) | – |\n\nafter: 24 µs\n"
	tables, lines := parseOutput(text)
	if len(tables) != 1 || tables[0].Title != "full flows" || len(tables[0].Rows) != 2 {
		t.Fatalf("tables %+v", tables)
	}
	if !slices.Equal(lines, []string{"full flows", "after: 24 µs"}) {
		t.Fatalf("lines %q", lines)
	}
	r := tables[0].Rows[0]
	for col, want := range map[string]float64{"load": 2, "p99": 0.85997, "refused (503)": 312} {
		if got, ok := r.Values[col]; !ok || got < want*0.999999 || got > want*1.000001 {
			t.Errorf("%s = %v (%v), want %v", col, got, ok, want)
		}
	}
	if _, ok := r.Values["argon2id (m KiB, t, p)"]; ok || r.Cells["argon2id (m KiB, t, p)"] != "65536, 3, 2" {
		t.Errorf("a list is not a number: %+v", r)
	}
	for _, c := range []struct {
		cell string
		want float64
		ok   bool
	}{{"24 µs", 24e-6, true}, {"1.50 ms", 0.0015, true}, {"2.51 s", 2.51, true}, {"–", 0, false}, {"ES256", 0, false}, {"15%", 15, true}} {
		if v, ok := cellValue(c.cell); ok != c.ok || ok && (v < c.want*0.999999 || v > c.want*1.000001) {
			t.Errorf("cellValue(%q) = %v, %v", c.cell, v, ok)
		}
	}
}

func TestJSONFlag(t *testing.T) {
	for _, c := range []struct {
		in   []string
		rest []string
		path string
		bad  bool
	}{
		{[]string{"-driver", "sqlite", "-json", "out.json"}, []string{"-driver", "sqlite"}, "out.json", false},
		{[]string{"-json=o.json", "-duration", "1s"}, []string{"-duration", "1s"}, "o.json", false},
		{[]string{"-duration", "1s"}, []string{"-duration", "1s"}, "", false},
		{[]string{"-json"}, nil, "", true},
	} {
		rest, path, err := jsonFlag(c.in)
		if (err != nil) != c.bad || !slices.Equal(rest, c.rest) || path != c.path {
			t.Errorf("jsonFlag(%q) = %q, %q, %v", c.in, rest, path, err)
		}
	}
}
