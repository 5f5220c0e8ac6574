package main

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// logWriter holds log lines for at most delay, or until limit bytes are
// waiting, and then writes them to w together. The server logs a line per
// request; written one by one, each line was a system call on the
// request's path (about 4% of a token exchange's CPU). Lines at warning
// level and above are written at once (see flushingHandler), and close
// writes whatever waits, so only the last delay of informational lines
// can be lost, and only if the process dies without closing.
type logWriter struct {
	mu    sync.Mutex
	w     io.Writer
	buf   []byte
	delay time.Duration
	limit int
	timer *time.Timer
	armed bool // the timer will flush what buf holds
}

func newLogWriter(w io.Writer, delay time.Duration, limit int) *logWriter {
	return &logWriter{w: w, delay: delay, limit: limit}
}

// Write keeps p (a whole record: slog's handlers write one per call) and
// writes what waits once limit bytes do; otherwise within delay.
func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	if len(l.buf) >= l.limit {
		return len(p), l.flushLocked()
	}
	if !l.armed {
		if l.timer == nil {
			l.timer = time.AfterFunc(l.delay, func() { _ = l.Flush() })
		} else {
			l.timer.Reset(l.delay)
		}
		l.armed = true
	}
	return len(p), nil
}

// Flush writes what waits.
func (l *logWriter) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.flushLocked()
}

func (l *logWriter) flushLocked() error {
	if l.armed {
		l.timer.Stop()
		l.armed = false
	}
	if len(l.buf) == 0 {
		return nil
	}
	_, err := l.w.Write(l.buf)
	if cap(l.buf) > 4*l.limit {
		l.buf = nil // a burst's buffer is not kept
	} else {
		l.buf = l.buf[:0]
	}
	return err
}

// flushingHandler writes a record of warning level or above at once,
// with every line that waited before it.
type flushingHandler struct {
	slog.Handler
	w *logWriter
}

func (h flushingHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		if ferr := h.w.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (h flushingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return flushingHandler{h.Handler.WithAttrs(as), h.w}
}

func (h flushingHandler) WithGroup(name string) slog.Handler {
	return flushingHandler{h.Handler.WithGroup(name), h.w}
}
