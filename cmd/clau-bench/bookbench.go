package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/seed"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/store/sqlstore"
)

// bookBench measures booking as citizens do it: POST /offices/{code}/book
// with a slot, DNI, name and mobile, up to the confirmation page with the
// reference (the slot's conditional update, the appointment, the SMS
// confirmation in the outbox and the audit event, in one transaction).
// Every client picks one of a few popular slots, so they all contend for
// the same rows. Each booking uses a new document (one live appointment
// per document) and a new client address through a trusted proxy header
// (the per-source limit holds per citizen, as behind a load balancer).
type bookBench struct {
	signinBench
	driver   string
	slots    int
	capacity int
	slotIDs  []string
	next     atomic.Int64 // bookings tried
	failed   atomic.Int64 // errors and "slot taken" answers
	full     atomic.Int64 // "slot taken" answers
	dsn      string
}

func runBook(args []string, out, log io.Writer) error {
	b := &bookBench{}
	fs := serveFlags("book", log, &b.clau)
	fs.StringVar(&b.driver, "driver", sqlstore.SQLite, "storage driver of the server: sqlite or postgres (a throwaway schema)")
	fs.DurationVar(&b.duration, "duration", 20*time.Second, "how long to measure")
	fs.IntVar(&b.concurrency, "concurrency", 16, "citizens booking at once")
	fs.IntVar(&b.slots, "slots", 3, "popular slots every citizen picks from")
	fs.IntVar(&b.capacity, "capacity", 1000000, "places per slot (large: measure contention, not full slots)")
	fs.StringVar(&b.profile, "profile", "", "write the server's CPU profile over the measured window to FILE")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if b.slots < 1 || b.capacity < 1 || b.concurrency < 1 {
		return errors.New("-slots, -capacity and -concurrency must be at least 1")
	}
	ctx, ws, err := newWorkspace("book", b.clau, b.driver, "", log)
	if err != nil {
		return err
	}
	defer ws.cleanup()
	b.clau, b.dsn = ws.clau, ws.dsn
	fmt.Fprintf(log, "clau-bench book: %s, %s, %s, %d popular slots, concurrency %d\n",
		cpus(), runtime.Version(), b.driver, b.slots, b.concurrency)
	if err := b.prepare(ctx, b.dsn); err != nil {
		return err
	}
	b.env = append([]string{"CLAU_SERVER_TRUSTED_PROXIES=127.0.0.1/32"}, ws.env...)
	srv, err := b.start(ws.dir, log)
	if err != nil {
		return err
	}
	defer srv.stop()

	b.run(ctx, srv.base, warmup(b.duration)) // warm up
	w, err := srv.measure(b.duration, b.profile, func(d time.Duration) loopResult { return b.run(ctx, srv.base, d) })
	if err != nil {
		return err
	}
	lat, elapsed := w.lat, w.elapsed
	if err := w.failed("bookings"); err != nil {
		return err
	}
	booked, err := b.check(ctx)
	if err != nil {
		return err
	}
	n := len(lat)
	slices.Sort(lat)
	per := w.cpu / time.Duration(max(n, 1))
	fmt.Fprintln(out, "| driver | popular slots | concurrency | bookings | bookings/s | p50 | p95 | p99 | server CPU per booking | bookings/s per core |")
	fmt.Fprintln(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	fmt.Fprintf(out, "| %s | %d | %d | %d | %.0f | %s | %s | %s | %s | %.0f |\n", b.driver, b.slots, b.concurrency, n,
		float64(n)/elapsed.Seconds(), fmtDur(percentile(lat, 0.50)), fmtDur(percentile(lat, 0.95)), fmtDur(percentile(lat, 0.99)),
		fmtDur(per), 1/per.Seconds())
	fmt.Fprintf(log, "checked: the slots hold %d bookings, as many as the server confirmed (warm-up included), none past capacity; %d answers were \"slot taken\"\n", booked, b.full.Load())
	return nil
}

// prepare makes the office and its popular slots, starting tomorrow.
func (b *bookBench) prepare(ctx context.Context, dsn string) error {
	s, err := openMigrated(ctx, b.driver, dsn)
	if err != nil {
		return err
	}
	defer s.Close()
	o := &identity.Office{ID: store.NewID(), Code: "BENCH-01", Name: "OAC Bench", Address: "Plaça Major 1",
		PostalCode: "08001", Municipality: "Barcelona", Province: "Barcelona", Active: true}
	if err := s.CreateOffice(ctx, o); err != nil {
		return err
	}
	t0 := time.Now().Add(24 * time.Hour).Truncate(time.Hour)
	var slots []store.Slot
	for i := range b.slots {
		st := t0.Add(time.Duration(i) * 15 * time.Minute)
		slots = append(slots, store.Slot{ID: store.NewID(), OfficeID: o.ID, StartsAt: st, EndsAt: st.Add(15 * time.Minute), Capacity: b.capacity})
		b.slotIDs = append(b.slotIDs, slots[i].ID)
	}
	_, err = s.AddSlots(ctx, slots)
	return err
}

// check reads the slots back: their bookings must be exactly the
// confirmed ones and never past capacity.
func (b *bookBench) check(ctx context.Context) (int, error) {
	s, err := sqlstore.Open(ctx, b.driver, b.dsn, sqlstore.Options{})
	if err != nil {
		return 0, err
	}
	defer s.Close()
	o, err := s.OfficeByCode(ctx, "BENCH-01")
	if err != nil {
		return 0, err
	}
	slots, err := s.ListSlots(ctx, o.ID, time.Now(), time.Now().AddDate(0, 0, 3))
	if err != nil {
		return 0, err
	}
	total := 0
	for _, sl := range slots {
		if sl.Booked > sl.Capacity {
			return 0, fmt.Errorf("slot %s booked %d of %d", sl.ID, sl.Booked, sl.Capacity)
		}
		total += sl.Booked
	}
	if int64(total) != b.next.Load()-b.failed.Load() {
		return total, fmt.Errorf("slots hold %d bookings, the server confirmed %d", total, b.next.Load()-b.failed.Load())
	}
	return total, nil
}

// run books from b.concurrency citizens for d; latencies of confirmed
// bookings and the number of failures ("slot taken" is neither).
func (b *bookBench) run(ctx context.Context, base string, d time.Duration) loopResult {
	tr := &http.Transport{MaxIdleConnsPerHost: b.concurrency * 2}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	r := runWorkers(ctx, time.Now().Add(d), b.concurrency, func(*worker) error {
		err := b.book(c, base, int(b.next.Add(1)))
		if err != nil {
			b.failed.Add(1)
		}
		return err
	})
	b.full.Add(int64(r.busy))
	return r
}

// errFull is the server's "someone has just taken that time".
var errFull error = declined{errors.New("slot taken")}

// book is one citizen's booking of one of the popular slots.
func (b *bookBench) book(c *http.Client, base string, i int) error {
	form := url.Values{"slot": {b.slotIDs[i%len(b.slotIDs)]}, "document": {seed.DNI(i)}, "name": {"Citizen " + seed.DNI(i)},
		"mobile": {seed.Mobile(i)}}
	req, _ := http.NewRequest("POST", base+"/offices/BENCH-01/book", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode == http.StatusConflict {
		return errFull
	}
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `id="reference"`) {
		return fmt.Errorf("booking %d: %s", i, res.Status)
	}
	return nil
}
