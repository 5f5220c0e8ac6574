package secure

import (
	"context"
	"encoding/base64"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestHashVerifyRoundTrip(t *testing.T) {
	h := NewHasher(fastParams, 0, nil)
	ctx := context.Background()
	phc, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if want := "$argon2id$v=19$m=1024,t=1,p=1$"; !strings.HasPrefix(phc, want) {
		t.Fatalf("Hash = %q, want prefix %q", phc, want)
	}
	tests := []struct {
		name     string
		password string
		wantOK   bool
	}{
		{"right password", "correct horse battery staple", true},
		{"wrong password", "correct horse battery stapler", false},
		{"empty password", "", false},
		{"case matters", "Correct horse battery staple", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(ctx, tt.password, phc)
			if err != nil {
				t.Fatalf("Verify error: %v", err)
			}
			if ok != tt.wantOK || rehash {
				t.Fatalf("Verify = ok %v rehash %v, want ok %v rehash false", ok, rehash, tt.wantOK)
			}
		})
	}
}

func TestHashUsesFreshSalt(t *testing.T) {
	h := NewHasher(fastParams, 0, nil)
	a, _ := h.Hash(context.Background(), "same")
	b, _ := h.Hash(context.Background(), "same")
	if a == b {
		t.Fatal("two hashes of one password are equal: salt is not random")
	}
}

func TestHashFailsWithBrokenRandomness(t *testing.T) {
	h := NewHasher(fastParams, 0, failingReader{})
	if _, err := h.Hash(context.Background(), "pw"); err == nil {
		t.Fatal("Hash with a broken random source succeeded")
	}
}

func TestDefaultParams(t *testing.T) {
	p := DefaultArgon2Params()
	if p != (Argon2Params{Memory: 65536, Time: 3, Threads: 2, SaltLen: 16, KeyLen: 32}) {
		t.Fatalf("DefaultArgon2Params = %+v", p)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if testing.Short() {
		t.Skip("one 64 MiB hash, skipped in -short")
	}
	h := NewHasher(p, 1, nil)
	phc, err := h.Hash(context.Background(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	if want := "$argon2id$v=19$m=65536,t=3,p=2$"; !strings.HasPrefix(phc, want) {
		t.Fatalf("Hash = %q, want prefix %q", phc, want)
	}
	// Verifying would cost a second 64 MiB hash; parsing shows the stored form.
	if p, err := parsePHC(phc); err != nil || p.params != DefaultArgon2Params() {
		t.Fatalf("parsePHC(%q) = %+v, %v", phc, p.params, err)
	}
}

func TestParamsValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Argon2Params)
		ok     bool
	}{
		{"defaults", func(*Argon2Params) {}, true},
		{"fast test params", func(p *Argon2Params) { *p = fastParams }, true},
		{"memory below 1024 KiB", func(p *Argon2Params) { p.Memory = 512 }, false},
		{"memory below 8 KiB per thread", func(p *Argon2Params) { p.Memory, p.Threads = 1024, 255 }, false},
		{"memory above 4 GiB", func(p *Argon2Params) { p.Memory = 4*1024*1024 + 1 }, false},
		{"zero time", func(p *Argon2Params) { p.Time = 0 }, false},
		{"time above 100", func(p *Argon2Params) { p.Time = 101 }, false},
		{"zero threads", func(p *Argon2Params) { p.Threads = 0 }, false},
		{"short salt", func(p *Argon2Params) { p.SaltLen = 15 }, false},
		{"short key", func(p *Argon2Params) { p.KeyLen = 15 }, false},
		{"long key", func(p *Argon2Params) { p.KeyLen = 129 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultArgon2Params()
			tt.modify(&p)
			if err := p.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate(%+v) = %v, want ok %v", p, err, tt.ok)
			}
		})
	}
}

func TestNewHasherPanicsOnInvalidParams(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewHasher accepted invalid parameters")
		}
	}()
	NewHasher(Argon2Params{}, 1, nil)
}

func TestVerifyNeedsRehash(t *testing.T) {
	ctx := context.Background()
	stored := fastParams
	phc, err := NewHasher(stored, 1, nil).Hash(ctx, "pw")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		current func(p *Argon2Params)
		want    bool
	}{
		{"same parameters", func(*Argon2Params) {}, false},
		{"memory raised", func(p *Argon2Params) { p.Memory = 2048 }, true},
		{"time raised", func(p *Argon2Params) { p.Time = 2 }, true},
		{"threads raised", func(p *Argon2Params) { p.Threads = 2 }, true},
		{"key length raised", func(p *Argon2Params) { p.KeyLen = 64 }, true},
		{"salt length raised", func(p *Argon2Params) { p.SaltLen = 32 }, true},
		{"current parameters lower", func(p *Argon2Params) { *p = Argon2Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 16} }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur := stored
			tt.current(&cur)
			h := NewHasher(cur, 1, nil)
			ok, rehash, err := h.Verify(ctx, "pw", phc)
			if err != nil || !ok {
				t.Fatalf("Verify = ok %v err %v, want ok", ok, err)
			}
			if rehash != tt.want {
				t.Fatalf("needsRehash = %v, want %v", rehash, tt.want)
			}
			if ok, rehash, _ := h.Verify(ctx, "wrong", phc); ok || rehash {
				t.Fatalf("wrong password: ok %v rehash %v, want both false", ok, rehash)
			}
		})
	}
}

func TestVerifyRejectsMalformedHashes(t *testing.T) {
	b64 := func(n int) string { return base64.RawStdEncoding.EncodeToString(make([]byte, n)) }
	salt, key := b64(16), b64(32)
	valid := "$argon2id$v=19$m=1024,t=1,p=1$" + salt + "$" + key
	tests := []struct{ name, phc string }{
		{"empty", ""},
		{"plain text", "hunter2"},
		{"argon2i", "$argon2i$v=19$m=1024,t=1,p=1$" + salt + "$" + key},
		{"argon2d", "$argon2d$v=19$m=1024,t=1,p=1$" + salt + "$" + key},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"upper-case algorithm", "$ARGON2ID$v=19$m=1024,t=1,p=1$" + salt + "$" + key},
		{"version 16", "$argon2id$v=16$m=1024,t=1,p=1$" + salt + "$" + key},
		{"missing version", "$argon2id$m=1024,t=1,p=1$" + salt + "$" + key},
		{"parameters out of order", "$argon2id$v=19$t=1,m=1024,p=1$" + salt + "$" + key},
		{"missing parameter", "$argon2id$v=19$m=1024,t=1$" + salt + "$" + key},
		{"extra parameter", "$argon2id$v=19$m=1024,t=1,p=1,k=2$" + salt + "$" + key},
		{"zero memory", "$argon2id$v=19$m=0,t=1,p=1$" + salt + "$" + key},
		{"memory above 4 GiB", "$argon2id$v=19$m=4194305,t=1,p=1$" + salt + "$" + key},
		{"memory overflowing uint32", "$argon2id$v=19$m=4294967296,t=1,p=1$" + salt + "$" + key},
		{"memory below 8 KiB per thread", "$argon2id$v=19$m=15,t=1,p=2$" + salt + "$" + key},
		{"zero time", "$argon2id$v=19$m=1024,t=0,p=1$" + salt + "$" + key},
		{"time above 100", "$argon2id$v=19$m=1024,t=101,p=1$" + salt + "$" + key},
		{"zero threads", "$argon2id$v=19$m=1024,t=1,p=0$" + salt + "$" + key},
		{"threads above 255", "$argon2id$v=19$m=4096,t=1,p=256$" + salt + "$" + key},
		{"leading zero", "$argon2id$v=19$m=01024,t=1,p=1$" + salt + "$" + key},
		{"plus sign", "$argon2id$v=19$m=+1024,t=1,p=1$" + salt + "$" + key},
		{"negative", "$argon2id$v=19$m=1024,t=-1,p=1$" + salt + "$" + key},
		{"empty number", "$argon2id$v=19$m=,t=1,p=1$" + salt + "$" + key},
		{"salt not base64", "$argon2id$v=19$m=1024,t=1,p=1$!!!!!!!!$" + key},
		{"salt padded", "$argon2id$v=19$m=1024,t=1,p=1$" + base64.StdEncoding.EncodeToString(make([]byte, 16)) + "$" + key},
		{"salt url alphabet", "$argon2id$v=19$m=1024,t=1,p=1$____________________$" + key},
		{"salt with line break", "$argon2id$v=19$m=1024,t=1,p=1$" + salt[:10] + "\n" + salt[10:] + "$" + key},
		{"salt with non-canonical bits", "$argon2id$v=19$m=1024,t=1,p=1$" + salt[:len(salt)-1] + "B$" + key},
		{"salt too short", "$argon2id$v=19$m=1024,t=1,p=1$" + b64(4) + "$" + key},
		{"salt too long", "$argon2id$v=19$m=1024,t=1,p=1$" + b64(65) + "$" + key},
		{"empty salt", "$argon2id$v=19$m=1024,t=1,p=1$$" + key},
		{"hash not base64", "$argon2id$v=19$m=1024,t=1,p=1$" + salt + "$***"},
		{"hash too short", "$argon2id$v=19$m=1024,t=1,p=1$" + salt + "$" + b64(15)},
		{"hash too long", "$argon2id$v=19$m=1024,t=1,p=1$" + salt + "$" + b64(129)},
		{"missing hash", "$argon2id$v=19$m=1024,t=1,p=1$" + salt},
		{"trailing dollar", valid + "$"},
		{"leading space", " " + valid},
		{"trailing newline", valid + "\n"},
		{"absurdly long", valid + strings.Repeat("A", 1000)},
	}
	h := NewHasher(fastParams, 1, nil)
	if ok, _, err := h.Verify(context.Background(), "pw", valid); err != nil || ok {
		t.Fatalf("control hash: ok %v err %v, want a well-formed mismatch", ok, err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(context.Background(), "pw", tt.phc)
			if !errors.Is(err, ErrInvalidHash) {
				t.Fatalf("Verify(%q) error = %v, want ErrInvalidHash", tt.phc, err)
			}
			if ok || rehash {
				t.Fatalf("Verify(%q) = ok %v rehash %v on error", tt.phc, ok, rehash)
			}
		})
	}
}

func TestVerifyDummy(t *testing.T) {
	h := NewHasher(fastParams, 1, nil)
	h.VerifyDummy(context.Background(), "pw")
	h.VerifyDummy(context.Background(), "")
	p, err := parsePHC(h.dummy)
	if err != nil {
		t.Fatalf("dummy hash %q does not parse: %v", h.dummy, err)
	}
	if p.params != fastParams {
		t.Fatalf("dummy hash parameters %+v, want the hasher's %+v", p.params, fastParams)
	}
	// A cancelled request must not block or panic either.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h.VerifyDummy(ctx, "pw")
}

func TestConcurrencyLimitHonoursContext(t *testing.T) {
	h := NewHasher(fastParams, 1, nil)
	phc, err := h.Hash(context.Background(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	h.sem <- struct{}{} // every slot taken
	defer h.release()

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(cancelled, "pw"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Hash with cancelled ctx = %v, want context.Canceled", err)
	}
	if ok, _, err := h.Verify(cancelled, "pw", phc); ok || !errors.Is(err, context.Canceled) {
		t.Fatalf("Verify with cancelled ctx = %v %v, want context.Canceled", ok, err)
	}

	// A request that starts waiting gives up when its deadline passes.
	waiting, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	start := time.Now()
	if _, err := h.Hash(waiting, "pw"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Hash while full = %v, want context.DeadlineExceeded", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("Hash waited far past its deadline")
	}
}

func TestConcurrencyLimitQueuesThenRuns(t *testing.T) {
	h := NewHasher(fastParams, 1, nil)
	h.sem <- struct{}{}
	done := make(chan error)
	go func() {
		_, err := h.Hash(context.Background(), "pw")
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Hash ran while every slot was taken (err %v)", err)
	case <-time.After(20 * time.Millisecond):
	}
	h.release()
	if err := <-done; err != nil {
		t.Fatalf("queued Hash: %v", err)
	}
}

func FuzzVerifyPHC(f *testing.F) {
	h := NewHasher(fastParams, 1, nil)
	valid, err := h.Hash(context.Background(), "pw")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add("")
	f.Add("$argon2id$v=19$m=1024,t=1,p=1$$")
	f.Add("$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA")
	f.Add("$argon2id$v=19$m=4194304,t=100,p=255$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA")
	f.Fuzz(func(t *testing.T, phc string) {
		parsed, perr := parsePHC(phc)
		if perr == nil {
			// The parser is strict, so what it accepts is canonical.
			if got := encodePHC(parsed.params, parsed.salt, parsed.key); got != phc {
				t.Fatalf("parsePHC accepted non-canonical %q (canonical %q)", phc, got)
			}
			p := parsed.params
			if uint64(p.Memory)*uint64(p.Time) > 8192 || p.Threads > 8 {
				return // valid but too costly to run in a fuzz loop
			}
		}
		ok, rehash, err := h.Verify(context.Background(), "pw", phc)
		if (err != nil) != (perr != nil) {
			t.Fatalf("Verify error %v, parse error %v", err, perr)
		}
		if err != nil && (ok || rehash) {
			t.Fatalf("Verify(%q) = ok %v rehash %v with error %v", phc, ok, rehash, err)
		}
	})
}

// Without a configured limit, hashes run at once as many as the CPUs hold
// with each hash's lanes on cores of their own.
func TestDefaultConcurrency(t *testing.T) {
	for _, tc := range []struct {
		lanes      uint8
		cpus, want int
	}{
		{lanes: 2, cpus: 2, want: 1}, // the default argon2id on a 2-core machine
		{lanes: 1, cpus: 2, want: 2},
		{lanes: 2, cpus: 8, want: 4},
		{lanes: 4, cpus: 2, want: 1}, // more lanes than cores: still one
		{lanes: 3, cpus: 8, want: 2},
		{lanes: 1, cpus: 1, want: 1},
	} {
		p := DefaultArgon2Params()
		p.Threads = tc.lanes
		if got := DefaultConcurrency(p, tc.cpus); got != tc.want {
			t.Errorf("%d lanes on %d CPUs: %d hashes at once, want %d", tc.lanes, tc.cpus, got, tc.want)
		}
	}
}

// The default counts the CPUs the Go runtime runs on (GOMAXPROCS: the
// container's CPU limit, or what the operator set), not the host's.
func TestNewHasherDefaultFollowsGOMAXPROCS(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	p := fastParams // one lane
	for _, procs := range []int{1, 3, runtime.NumCPU() + 2} {
		runtime.GOMAXPROCS(procs)
		if got := NewHasher(p, 0, nil).Slots(); got != procs {
			t.Errorf("GOMAXPROCS=%d: %d hashes at once, want %d", procs, got, procs)
		}
	}
	if got := NewHasher(p, 5, nil).Slots(); got != 5 {
		t.Errorf("a configured limit of 5: %d hashes at once", got)
	}
}
