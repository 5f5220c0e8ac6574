package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/seed"
)

func cmdSeed(ctx context.Context, args []string, out io.Writer) error {
	fs, cfgPath := flagSet("seed")
	n := fs.Int("citizens", 0, "how many synthetic citizens to create (required)")
	batch := fs.Int("batch", 1000, "citizens per transaction")
	from := fs.Int("from", -1, "number of the first synthetic citizen (default: after the existing ones)")
	print := fs.Bool("print", false, "print each committed document number, after its transaction commits")
	a, err := openFromFlags(ctx, fs, cfgPath, args)
	if err != nil {
		return err
	}
	defer a.close()
	if *n <= 0 {
		return usagef("--citizens N is required (N > 0)")
	}
	if *from < 0 {
		count, err := a.store.CountCitizens(ctx)
		if err != nil {
			return err
		}
		*from = int(count) + 1
	}
	start := time.Now()
	done := 0
	err = seed.Citizens(ctx, a.store, *from, *n, *batch, func(docs []string) {
		done += len(docs)
		if *print {
			for _, d := range docs {
				fmt.Fprintln(out, d)
			}
		}
	})
	el := time.Since(start)
	_ = a.trail.Record(context.WithoutCancel(ctx), audit.Event{Actor: cliActor(), Action: "seed.citizens", Source: "cli",
		Details: map[string]string{"created": fmt.Sprint(done), "from": fmt.Sprint(*from)}})
	if err != nil {
		return fmt.Errorf("after %d citizens: %w", done, err)
	}
	if !*print {
		fmt.Fprintf(out, "%d synthetic citizens created in %s (%.0f/s)\n", done, el.Round(time.Millisecond), float64(done)/el.Seconds())
	}
	return nil
}
