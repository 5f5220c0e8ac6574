package secure_test

import (
	"context"
	"crypto/rand"
	"errors"
	"github.com/clau-eid/clau/internal/fakeclock"
	"sync"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/store/sqlstore"
	"github.com/clau-eid/clau/internal/store/sqlstore/sqltest"
)

func newKeyring(t *testing.T) *secure.Keyring {
	k, err := secure.NewKeyring(rand.Reader, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var smsSpec = secure.CodeSpec{Purpose: "sms_otp", Kind: secure.Numeric, Digits: 6, TTL: 5 * time.Minute, MaxAttempts: 3}

func TestOneTimeCodes(t *testing.T) {
	ctx := context.Background()
	sqltest.Run(t, func(t *testing.T, driver string) {
		s := sqltest.Open(t, driver)
		clk := fakeclock.New(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
		codes := secure.NewOneTimeCodes(newKeyring(t), clk.Now, nil)

		code, exp, err := codes.Issue(ctx, s, smsSpec, "citizen-1")
		if err != nil || len(code) != 6 || !exp.Equal(clk.Now().Add(5*time.Minute)) {
			t.Fatalf("issue = %q %v %v", code, exp, err)
		}
		live, _ := s.LiveCode(ctx, "sms_otp", "citizen-1")
		if live.Hash == code || len(live.Hash) < 20 {
			t.Fatalf("code stored in clear or unhashed: %q", live.Hash)
		}
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		r, _ := codes.Check(ctx, s, smsSpec, "citizen-1", wrong)
		if r.Err != secure.ErrCodeWrong || r.Remaining != 2 {
			t.Fatalf("wrong code = %+v", r)
		}
		if r, _ := codes.Check(ctx, s, smsSpec, "citizen-2", code); r.Err != secure.ErrCodeMissing {
			t.Fatalf("code for another subject = %+v", r)
		}
		if r, _ := codes.Check(ctx, s, smsSpec, "citizen-1", code); r.Err != nil {
			t.Fatalf("right code = %+v", r)
		}
		if r, _ := codes.Check(ctx, s, smsSpec, "citizen-1", code); r.Err != secure.ErrCodeMissing {
			t.Fatalf("reused code = %+v", r)
		}

		// A new code kills the old one.
		old, _, _ := codes.Issue(ctx, s, smsSpec, "citizen-1")
		fresh, _, _ := codes.Issue(ctx, s, smsSpec, "citizen-1")
		if old != fresh {
			if r, _ := codes.Check(ctx, s, smsSpec, "citizen-1", old); r.Err == nil {
				t.Fatal("an old code still worked after a new one was issued")
			}
		}

		// Expiry, with the clock and no sleeping.
		code, _, _ = codes.Issue(ctx, s, smsSpec, "citizen-3")
		clk.Add(5 * time.Minute)
		if r, _ := codes.Check(ctx, s, smsSpec, "citizen-3", code); r.Err != secure.ErrCodeExpired {
			t.Fatalf("expired code = %+v", r)
		}

		// Three wrong tries kill the code, even the right one after.
		code, _, _ = codes.Issue(ctx, s, smsSpec, "citizen-4")
		for i := 0; i < 3; i++ {
			bad := "99999" + string(rune('0'+i))
			if bad == code {
				bad = "888888"
			}
			codes.Check(ctx, s, smsSpec, "citizen-4", bad)
		}
		if r, _ := codes.Check(ctx, s, smsSpec, "citizen-4", code); r.Err != secure.ErrCodeExhausted {
			t.Fatalf("right code after the limit = %+v", r)
		}
	})
}

func TestActivationCodeTypedLoosely(t *testing.T) {
	ctx := context.Background()
	s := sqltest.Open(t, sqlstore.SQLite)
	codes := secure.NewOneTimeCodes(newKeyring(t), nil, nil)
	spec := secure.CodeSpec{Purpose: "activation", Kind: secure.Activation, TTL: 30 * 24 * time.Hour, MaxAttempts: 5}
	code, _, err := codes.Issue(ctx, s, spec, "c")
	if err != nil {
		t.Fatal(err)
	}
	typed := " " + secure.FormatActivationCode(code) + " "
	for i := range typed {
		if typed[i] >= 'A' && typed[i] <= 'Z' {
			typed = typed[:i] + string(typed[i]+32) + typed[i+1:]
			break
		}
	}
	if r, _ := codes.Check(ctx, s, spec, "c", typed); r.Err != nil {
		t.Fatalf("code typed with dashes, spaces and lower case = %+v", r)
	}
}

func TestThrottleLocksAndGrows(t *testing.T) {
	ctx := context.Background()
	s := sqltest.Open(t, sqlstore.SQLite)
	clk := fakeclock.New(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	th := secure.NewThrottle(s, secure.DefaultThrottlePolicy(), clk.Now)
	key := "login:doc:12345678Z"
	for i := 1; i <= 4; i++ {
		if d, err := th.Fail(ctx, key); err != nil || d != 0 {
			t.Fatalf("failure %d locked for %v (%v)", i, d, err)
		}
	}
	d, _ := th.Fail(ctx, key)
	if d != 5*time.Minute {
		t.Fatalf("fifth failure locks for %v, want 5m", d)
	}
	if l, _ := th.Locked(ctx, key); l != 5*time.Minute {
		t.Fatalf("locked = %v", l)
	}
	clk.Add(5 * time.Minute)
	if l, _ := th.Locked(ctx, key); l != 0 {
		t.Fatalf("still locked after the wait: %v", l)
	}
	for range 4 {
		th.Fail(ctx, key)
	}
	if d, _ := th.Fail(ctx, key); d != 10*time.Minute {
		t.Fatalf("second lockout = %v, want 10m (growing)", d)
	}
	// A success in between does not reset the growth.
	clk.Add(10 * time.Minute)
	if err := th.Reset(ctx, key); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		th.Fail(ctx, key)
	}
	if d, _ := th.Fail(ctx, key); d != 20*time.Minute {
		t.Fatalf("third lockout = %v, want 20m", d)
	}
	// A day of quiet forgets.
	clk.Add(25 * time.Hour)
	for range 4 {
		th.Fail(ctx, key)
	}
	if d, _ := th.Fail(ctx, key); d != 5*time.Minute {
		t.Fatalf("lockout after a quiet day = %v, want 5m", d)
	}
	if err := th.Unlock(ctx, key); err != nil {
		t.Fatal(err)
	}
	if l, _ := th.Locked(ctx, key); l != 0 {
		t.Fatal("unlock did not unlock")
	}
}

// Two processes on one PostgreSQL share counters: failures spread across
// them add up to one lockout, which both then see.
func TestThrottleSharedAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	dsn := sqltest.PostgresDSN(t)
	a := sqltest.OpenDSN(t, sqlstore.Postgres, dsn, nil)
	b := sqltest.OpenDSN(t, sqlstore.Postgres, dsn, nil)
	ta := secure.NewThrottle(a, secure.DefaultThrottlePolicy(), nil)
	tb := secure.NewThrottle(b, secure.DefaultThrottlePolicy(), nil)
	key := "login:ip:203.0.113.7"
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			th := ta
			if i%2 == 1 {
				th = tb
			}
			if _, err := th.Fail(ctx, key); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if l, _ := ta.Locked(ctx, key); l != 0 {
		t.Fatal("locked after 4 failures")
	}
	if d, _ := tb.Fail(ctx, key); d == 0 {
		t.Fatal("fifth failure, on the other process, did not lock: counts were not shared")
	}
	if l, _ := ta.Locked(ctx, key); l == 0 {
		t.Fatal("process A does not see the lockout process B made")
	}
	var _ store.Counters = a
}

// A success forgets the failures counted before it, also when it resets
// from what Check read before the hash instead of reading again.
func TestThrottleResetChecked(t *testing.T) {
	ctx := context.Background()
	s := sqltest.Open(t, sqlstore.SQLite)
	th := secure.NewThrottle(s, secure.DefaultThrottlePolicy(), nil)
	key := "pwd:doc:12345678Z"
	for range 4 {
		if _, err := th.Fail(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	st, err := th.Check(ctx, key)
	if err != nil || st.Locked != 0 {
		t.Fatalf("check after 4 failures = %+v, %v", st, err)
	}
	if err := th.ResetChecked(ctx, key, st); err != nil {
		t.Fatal(err)
	}
	if d, _ := th.Fail(ctx, key); d != 0 {
		t.Fatal("the failures before the success still counted: one more locked")
	}

	// A clean key is left alone: a failure counted between the check and
	// the success (a parallel wrong guess) still counts.
	clean := "pwd:doc:87654321X"
	st, err = th.Check(ctx, clean)
	if err != nil {
		t.Fatal(err)
	}
	for range 4 {
		th.Fail(ctx, clean)
	}
	if err := th.ResetChecked(ctx, clean, st); err != nil {
		t.Fatal(err)
	}
	if d, _ := th.Fail(ctx, clean); d == 0 {
		t.Fatal("a success checked on a clean key forgot failures counted after the check")
	}
}

// Match leaves a right code live for the caller to consume in its own
// transaction; every attempt still counts at once.
func TestOneTimeCodeMatchConsumedByCaller(t *testing.T) {
	ctx := context.Background()
	s := sqltest.Open(t, sqlstore.SQLite)
	codes := secure.NewOneTimeCodes(newKeyring(t), nil, nil)
	code, _, err := codes.Issue(ctx, s, smsSpec, "tx-1")
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := codes.Match(ctx, s, smsSpec, "tx-1", "000000"); r.Err != secure.ErrCodeWrong {
		t.Fatalf("wrong code = %+v", r)
	}
	r, err := codes.Match(ctx, s, smsSpec, "tx-1", code)
	if err != nil || r.Err != nil || r.CodeID == "" {
		t.Fatalf("right code = %+v, %v", r, err)
	}
	live, err := s.LiveCode(ctx, smsSpec.Purpose, "tx-1")
	if err != nil || live.Attempts != 2 {
		t.Fatalf("after two matches the code is %+v (%v); want it live with both attempts spent", live, err)
	}
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.ConsumeCode(ctx, r.CodeID, time.Now()) }); err != nil {
		t.Fatal(err)
	}
	if r, _ := codes.Match(ctx, s, smsSpec, "tx-1", code); r.Err != secure.ErrCodeMissing {
		t.Fatalf("a consumed code matched again: %+v", r)
	}
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.ConsumeCode(ctx, r.CodeID, time.Now()) }); !errors.Is(err, store.ErrStale) {
		t.Fatalf("consuming twice = %v, want store.ErrStale", err)
	}
}
