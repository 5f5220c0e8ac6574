package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clau-eid/clau/internal/seed"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/store/sqlstore"
)

// sessionsBench is `clau-bench sessions`: what live SSO sessions cost a
// clau serve process (resident memory) and the store (bytes per session).
// A sample of sessions comes from real sign-ins; the bulk is written
// through the store API (CreateSession, as the broker writes them, 1,000
// per transaction) with tokens the tool keeps, because 100,000 argon2id
// sign-ins would take the machine an hour. Every bulk session is then used
// once on the account page, so the server has seen each of them live.
type sessionsBench struct {
	driver, dsn string
	sessions    int
	sample      int
	heapProfile string
	signin      signinBench
}

func runSessions(args []string, out, log io.Writer) error {
	b := &sessionsBench{}
	b.signin.params = lowParams
	fs := serveFlags("sessions", log, &b.signin.clau)
	fs.StringVar(&b.driver, "driver", sqlstore.SQLite, "storage driver: sqlite or postgres")
	fs.IntVar(&b.sessions, "sessions", 100000, "live SSO sessions to hold")
	fs.IntVar(&b.sample, "sample", 200, "of which made by real sign-ins")
	fs.IntVar(&b.signin.citizens, "citizens", 10000, "citizens the sessions belong to")
	fs.IntVar(&b.signin.concurrency, "concurrency", 4, "browsers at once")
	fs.StringVar(&b.heapProfile, "heapprofile", "", "write the server's heap profile with the sessions live to FILE")
	params := argon2Flags(fs, &b.signin.params)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := params(); err != nil {
		return err
	}
	ctx, ws, err := newWorkspace("sessions", b.signin.clau, b.driver, "", log)
	if err != nil {
		return err
	}
	defer ws.cleanup()
	b.signin.clau, b.dsn, b.signin.env = ws.clau, ws.dsn, ws.env
	if b.heapProfile != "" {
		b.signin.profile = b.heapProfile // makes start serve pprof
	}
	fmt.Fprintf(log, "clau-bench sessions: %s, %s, %s, %d sessions (%d from real sign-ins), %d citizens\n",
		b.driver, cpus(), runtime.Version(), b.sessions, b.sample, b.signin.citizens)
	return b.run(ctx, ws.dir, out, log)
}

func (b *sessionsBench) run(ctx context.Context, dir string, out, log io.Writer) error {
	s, err := openMigrated(ctx, b.driver, b.dsn)
	if err != nil {
		return err
	}
	defer s.Close()
	phc, err := benchHash(ctx, b.signin.params)
	if err != nil {
		return err
	}
	ids := make([]string, b.signin.citizens)
	if err := s.LoadCitizens(ctx, b.signin.citizens, func(i int) sqlstore.BulkCitizen {
		c := activeCitizen(i, phc)
		ids[i] = c.Citizen.ID
		return c
	}, nil); err != nil {
		return err
	}
	srv, err := b.signin.start(dir, log)
	if err != nil {
		return err
	}
	defer srv.stop()
	pid := srv.cmd.Process.Pid
	rss0, err := procRSS(pid)
	if err != nil {
		return err
	}
	// The real sign-ins: they warm every path (templates, pools, argon2id's
	// memory) so the memory measured next is the sessions'.
	tr := &http.Transport{MaxIdleConnsPerHost: b.signin.concurrency * 2}
	for i := range b.sample {
		if err := signIn(srv.base, seed.DNI(i%b.signin.citizens), tr); err != nil {
			return fmt.Errorf("sign-in %d: %w", i, err)
		}
	}
	rss1, _ := procRSS(pid)
	bytes1, err := b.storeBytes(ctx, s)
	if err != nil {
		return err
	}
	bulk := b.sessions - b.sample
	tokens := make([]string, 0, bulk)
	now := time.Now().UTC()
	t0 := time.Now()
	for start := 0; start < bulk; start += 1000 {
		n := min(1000, bulk-start)
		err := s.InTx(ctx, func(tx store.Tx) error {
			for i := range n {
				var raw [32]byte
				_, _ = rand.Read(raw[:])
				token := base64.RawURLEncoding.EncodeToString(raw[:])
				sum := sha256.Sum256([]byte(token))
				se := &store.Session{ID: hex.EncodeToString(sum[:]), Kind: store.SessionCitizen,
					Subject: ids[(start+i)%len(ids)], LoA: "low", AMR: []string{"pwd"}, AuthTime: now, CreatedAt: now,
					ExpiresAt: now.Add(8 * time.Hour), Source: "127.0.0.1", UserAgent: "Go-http-client/1.1"}
				if err := tx.CreateSession(ctx, se); err != nil {
					return err
				}
				tokens = append(tokens, token)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(log, "%d sessions written through the store API in %s\n", bulk, time.Since(t0).Round(time.Millisecond))
	bytes2, err := b.storeBytes(ctx, s)
	if err != nil {
		return err
	}
	// Use every session once: the account page, read with the session.
	t0 = time.Now()
	if err := useSessions(ctx, srv.base, tokens, b.signin.concurrency, tr); err != nil {
		return err
	}
	useTime := time.Since(t0)
	fmt.Fprintf(log, "every session used once on /me in %s (%.0f pages/s)\n", useTime.Round(time.Millisecond),
		float64(len(tokens))/useTime.Seconds())
	rss2, _ := procRSS(pid)
	if b.heapProfile != "" && srv.pprof != "" {
		if err := fetchHeap(srv.pprof, b.heapProfile); err != nil {
			return err
		}
		fmt.Fprintf(log, "server heap profile in %s: go tool pprof -sample_index=inuse_space -top %s\n", b.heapProfile, b.heapProfile)
	}
	perSession := float64(bytes2-bytes1) / float64(bulk)
	fmt.Fprintf(out, "Live SSO sessions, %s: %d sessions (%d from real sign-ins, %d through the store API, each used once on /me)\n\n",
		b.driver, b.sessions, b.sample, bulk)
	fmt.Fprintln(out, "| driver | sessions | server RSS at start | after the sign-ins | with every session used | RSS growth per session | store bytes per session |")
	fmt.Fprintln(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
	fmt.Fprintf(out, "| %s | %d | %.1f MB | %.1f MB | %.1f MB | %.0f B | %.0f B |\n", b.driver, b.sessions,
		mb(rss0), mb(rss1), mb(rss2), float64(rss2-rss1)/float64(bulk), perSession)
	return nil
}

func mb(b int64) float64 { return float64(b) / 1e6 }

// storeBytes is the database's size as its own statistics give it: SQLite's
// page count (which counts pages still in the WAL), PostgreSQL's total size
// of the sessions table with its indexes and TOAST.
func (b *sessionsBench) storeBytes(ctx context.Context, s *sqlstore.Store) (int64, error) {
	var n int64
	if b.driver == sqlstore.Postgres {
		err := s.DB().QueryRowContext(ctx, `SELECT pg_total_relation_size('sessions')`).Scan(&n)
		return n, err
	}
	var pages, size int64
	if err := s.DB().QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		return 0, err
	}
	if err := s.DB().QueryRowContext(ctx, `PRAGMA page_size`).Scan(&size); err != nil {
		return 0, err
	}
	return pages * size, nil
}

// useSessions gets /me once with each token, from concurrency clients.
func useSessions(ctx context.Context, base string, tokens []string, concurrency int, tr http.RoundTripper) error {
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		first atomic.Pointer[error]
	)
	c := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for range concurrency {
		wg.Go(func() {
			for ctx.Err() == nil && first.Load() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(tokens) {
					return
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/me", nil)
				req.AddCookie(&http.Cookie{Name: "clau_session", Value: tokens[i]})
				res, err := c.Do(req)
				if err == nil {
					body, _ := io.ReadAll(res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "/logout") {
						err = fmt.Errorf("session %d: /me answered %d, not the account page", i, res.StatusCode)
					}
				}
				if err != nil {
					first.CompareAndSwap(nil, &err)
				}
			}
		})
	}
	wg.Wait()
	if p := first.Load(); p != nil {
		return *p
	}
	return ctx.Err()
}

// procRSS is a process's resident set size in bytes (VmRSS).
func procRSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

// fetchHeap saves the server's heap profile.
func fetchHeap(base, path string) error {
	return download(base+"/debug/pprof/heap?gc=1", path)
}
