package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// benchmark is one run of `clau-bench all`: a scenario with the settings
// BENCHMARKS.md quotes (args), and tiny settings that only check it still
// works end to end (smoke). Add a line here with each new scenario.
type benchmark struct {
	scenario    string
	args, smoke []string
	// noClau: the scenario does not run clau serve (no -clau flag).
	noClau bool
}

// lowArgon2 is the cheap argon2id setting the OIDC figures use.
var lowArgon2 = []string{"-argon2-memory-kib", "8192", "-argon2-iterations", "1", "-argon2-parallelism", "1"}

// owaspArgon2 is OWASP's minimum for argon2id (19 MiB, 2 passes, 1 lane),
// the setting issue 10's targets assume.
var owaspArgon2 = []string{"-argon2-memory-kib", "19456", "-argon2-iterations", "2", "-argon2-parallelism", "1"}

func join(parts ...[]string) []string { return slices.Concat(parts...) }

var benchmarks = []benchmark{
	{scenario: "store", noClau: true, args: []string{"-driver", "sqlite"},
		smoke: []string{"-driver", "sqlite", "-sizes", "300", "-ops", "200", "-warmup", "0"}},
	{scenario: "store", noClau: true, args: []string{"-driver", "postgres"}},
	{scenario: "signin",
		smoke: join([]string{"-citizens", "20", "-duration", "500ms", "-concurrency", "2", "-load", "2"}, lowArgon2)},
	{scenario: "signin", args: lowArgon2},
	{scenario: "signin", args: owaspArgon2},
	{scenario: "signin", args: join(lowArgon2, []string{"-sms"}),
		smoke: join([]string{"-citizens", "20", "-duration", "500ms", "-concurrency", "2", "-sms"}, lowArgon2)},
	{scenario: "signin", args: []string{"-citizens", "5000", "-duration", "20s", "-concurrency", "2", "-load", "0.5,2"}},
	{scenario: "oidc", args: join(lowArgon2, []string{"-citizens", "2000", "-duration", "20s", "-load", "0.5"}),
		smoke: join([]string{"-citizens", "20", "-duration", "500ms", "-concurrency", "2"}, lowArgon2)},
	{scenario: "oidc", args: join(owaspArgon2, []string{"-citizens", "2000", "-duration", "20s"})},
	{scenario: "token", args: []string{"-driver", "sqlite"},
		smoke: []string{"-duration", "10ms", "-batch", "20", "-concurrency", "2"}},
	{scenario: "token", args: []string{"-driver", "postgres"}},
	{scenario: "saml", smoke: []string{"-duration", "500ms", "-concurrency", "2"}},
	{scenario: "cert", args: []string{"-citizens", "2000", "-duration", "15s", "-concurrency", "2", "-ocsp", "cached"}},
	{scenario: "cert", args: []string{"-citizens", "2000", "-duration", "15s", "-concurrency", "2", "-ocsp", "fresh"},
		smoke: []string{"-citizens", "20", "-duration", "500ms", "-concurrency", "2", "-ocsp", "fresh"}},
	{scenario: "book", args: []string{"-driver", "sqlite"},
		smoke: []string{"-duration", "500ms", "-concurrency", "4"}},
	{scenario: "book", args: []string{"-driver", "postgres"}},
	{scenario: "pin", smoke: []string{"-citizens", "500", "-duration", "500ms", "-concurrency", "2"}},
	{scenario: "scale", args: []string{"-driver", "sqlite", "-sizes", "10000,1000000"},
		smoke: []string{"-driver", "sqlite", "-sizes", "200,400", "-duration", "300ms", "-concurrency", "2"}},
	{scenario: "scale", args: []string{"-driver", "postgres", "-sizes", "10000,1000000"}},
	{scenario: "sessions", args: []string{"-driver", "sqlite"},
		smoke: []string{"-driver", "sqlite", "-sessions", "300", "-sample", "10", "-citizens", "50", "-concurrency", "2"}},
	{scenario: "sessions", args: []string{"-driver", "postgres"}},
	{scenario: "pair"},
}

// runAll runs every benchmark of the list in turn (or, with -smoke, every
// one that has smoke settings), building clau once.
func runAll(args []string, jsonPath string, out, log io.Writer) error {
	fs := flag.NewFlagSet("all", flag.ContinueOnError)
	fs.SetOutput(log)
	smoke := fs.Bool("smoke", false, "run each scenario for a moment with tiny settings: checks the tool, measures nothing")
	only := fs.String("only", "", "comma-separated scenarios to run (default: all)")
	clau := fs.String("clau", "", "clau binary (default: built once from ./cmd/clau)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var want []string
	if *only != "" {
		want = strings.Split(*only, ",")
	}
	if *clau == "" {
		dir, err := os.MkdirTemp("", "clau-bench-all")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*clau = filepath.Join(dir, "clau")
		build := exec.Command("go", "build", "-o", *clau, "./cmd/clau")
		build.Stderr = log
		if err := build.Run(); err != nil {
			return fmt.Errorf("building clau (run from the repository root, or give -clau): %w", err)
		}
	}
	doc := newDocument()
	var errs []error
	for _, b := range benchmarks {
		a := b.args
		if *smoke {
			if b.smoke == nil {
				continue
			}
			a = b.smoke
		}
		if want != nil && !slices.Contains(want, b.scenario) {
			continue
		}
		if !b.noClau {
			a = append([]string{"-clau", *clau}, a...)
		}
		fmt.Fprintf(out, "\n## clau-bench %s %s\n\n", b.scenario, strings.Join(a, " "))
		start := time.Now()
		if err := doc.capture(b.scenario, a, out, log); err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", b.scenario, strings.Join(a, " "), err))
			fmt.Fprintf(log, "clau-bench %s failed: %v\n", b.scenario, err)
		}
		fmt.Fprintf(log, "clau-bench %s took %s\n", b.scenario, time.Since(start).Round(time.Second))
	}
	if jsonPath != "" {
		if err := doc.write(jsonPath); err != nil {
			errs = append(errs, err)
		}
	}
	if len(doc.Runs) == 0 {
		errs = append(errs, errors.New("no benchmark matched -only"))
	}
	return errors.Join(errs...)
}
