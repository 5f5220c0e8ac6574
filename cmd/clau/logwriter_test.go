package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is what the log writer writes to: stderr, as a test sees it.
type syncBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return s.b.Write(p)
}

func (s *syncBuffer) read() (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String(), s.writes
}

func TestLogWriter(t *testing.T) {
	logger := func(delay time.Duration, limit int) (*slog.Logger, *logWriter, *syncBuffer) {
		out := &syncBuffer{}
		lw := newLogWriter(out, delay, limit)
		return slog.New(flushingHandler{slog.NewJSONHandler(lw, nil), lw}), lw, out
	}

	t.Run("informational lines wait, then go out together", func(t *testing.T) {
		log, _, out := logger(50*time.Millisecond, 1<<20)
		for i := range 10 {
			log.Info("http", "n", i)
		}
		if got, _ := out.read(); got != "" {
			t.Fatalf("written before the delay: %q", got)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			got, writes := out.read()
			if strings.Count(got, "\n") == 10 {
				if writes != 1 {
					t.Errorf("10 lines in %d writes, want 1", writes)
				}
				for i := range 10 {
					if !strings.Contains(got, fmt.Sprintf(`"n":%d}`, i)) {
						t.Errorf("line %d missing from %q", i, got)
					}
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("lines not written within 5 s: %q", got)
			}
			time.Sleep(10 * time.Millisecond)
		}
		// The timer arms again for the next lines.
		log.Info("later")
		deadline = time.Now().Add(5 * time.Second)
		for got, _ := out.read(); !strings.Contains(got, "later"); got, _ = out.read() {
			if time.Now().After(deadline) {
				t.Fatal("a line after the first flush was not written")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})

	t.Run("a warning goes out at once with what waited before it", func(t *testing.T) {
		log, _, out := logger(time.Hour, 1<<20)
		log.Info("first")
		log.With("component", "outbox").Warn("second")
		got, _ := out.read()
		if !strings.Contains(got, "first") || !strings.Contains(got, "second") || strings.Index(got, "first") > strings.Index(got, "second") {
			t.Fatalf("after a warning: %q", got)
		}
		log.WithGroup("g").Error("third", "k", "v")
		if got, _ := out.read(); !strings.Contains(got, `"g":{"k":"v"}`) {
			t.Fatalf("after an error in a group: %q", got)
		}
	})

	t.Run("a burst goes out at the limit, the rest at flush", func(t *testing.T) {
		log, lw, out := logger(time.Hour, 1024)
		for i := range 100 {
			log.Info("burst", "n", i)
		}
		got, writes := out.read()
		if writes == 0 || len(got) < 1024 {
			t.Fatalf("%d bytes in %d writes after a burst past the limit", len(got), writes)
		}
		if err := lw.Flush(); err != nil {
			t.Fatal(err)
		}
		if got, _ := out.read(); strings.Count(got, "\n") != 100 {
			t.Fatalf("%d lines after flush, want 100", strings.Count(got, "\n"))
		}
	})

	t.Run("concurrent lines stay whole", func(t *testing.T) {
		log, lw, out := logger(time.Millisecond, 4096)
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 200 {
					log.Info("line", "g", g, "i", i)
				}
			})
		}
		wg.Wait()
		if err := lw.Flush(); err != nil {
			t.Fatal(err)
		}
		got, _ := out.read()
		lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
		if len(lines) != 1600 {
			t.Fatalf("%d lines, want 1600", len(lines))
		}
		for _, l := range lines {
			if !strings.HasPrefix(l, "{") || !strings.HasSuffix(l, "}") {
				t.Fatalf("broken line %q", l)
			}
		}
	})
}
