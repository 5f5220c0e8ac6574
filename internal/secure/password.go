package secure

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clau-eid/clau/internal/problem"
	"golang.org/x/crypto/argon2"
)

// ErrInvalidHash is wrapped by Verify when the stored PHC string is malformed
// or uses parameters we refuse to run.
var ErrInvalidHash = errors.New("secure: invalid password hash")

// Limits for parameters read from a stored hash (and accepted by Validate, so
// that we never write a hash we would refuse to read).
const (
	maxMemoryKiB = 4 * 1024 * 1024 // 4 GiB
	maxTime      = 100
	minKeyLen    = 16
	maxKeyLen    = 128
	minSaltLen   = 8 // RFC 9106 minimum, for reading old hashes
	maxSaltLen   = 64
	maxPHCLen    = 512
)

// Argon2Params are the Argon2id cost parameters.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8  // lanes
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultArgon2Params returns 64 MiB, 3 passes, 2 lanes, 16-byte salt and
// 32-byte key.
func DefaultArgon2Params() Argon2Params {
	return Argon2Params{Memory: 64 * 1024, Time: 3, Threads: 2, SaltLen: 16, KeyLen: 32}
}

// Validate reports every parameter out of range.
func (p Argon2Params) Validate() error {
	var errs []error
	if p.Threads < 1 {
		errs = append(errs, errors.New("argon2 threads must be at least 1"))
	}
	if p.Memory < 1024 || p.Memory < 8*uint32(p.Threads) {
		errs = append(errs, fmt.Errorf("argon2 memory %d KiB must be at least 1024 KiB and 8 KiB per thread", p.Memory))
	}
	if p.Memory > maxMemoryKiB {
		errs = append(errs, fmt.Errorf("argon2 memory %d KiB exceeds %d KiB", p.Memory, maxMemoryKiB))
	}
	if p.Time < 1 || p.Time > maxTime {
		errs = append(errs, fmt.Errorf("argon2 time %d must be in 1..%d", p.Time, maxTime))
	}
	if p.SaltLen < 16 || p.SaltLen > maxSaltLen {
		errs = append(errs, fmt.Errorf("argon2 salt length %d must be in 16..%d", p.SaltLen, maxSaltLen))
	}
	if p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen {
		errs = append(errs, fmt.Errorf("argon2 key length %d must be in %d..%d", p.KeyLen, minKeyLen, maxKeyLen))
	}
	return errors.Join(errs...)
}

// ErrBusy is matched (errors.Is) by the *BusyError that Hash and Verify
// return when admission control turns a request away.
var ErrBusy = errors.New("secure: password hashing is saturated")

// BusyError says the hashing queue is full and when to try again.
type BusyError struct {
	RetryAfter time.Duration // a whole number of seconds, at least one
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("secure: password hashing is saturated; retry in %s", e.RetryAfter)
}

// Is makes errors.Is(err, ErrBusy) true.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }

// Hasher hashes and verifies passwords with Argon2id. Each hash takes
// Memory KiB and a core's time, so a semaphore bounds how many run at once.
// With a queue limit (SetQueueLimit), a request that would wait longer than
// the limit is turned away at once with a *BusyError instead of queueing:
// under overload the admitted citizens keep a bounded latency and the rest
// get a fast answer they can act on. Safe for concurrent use.
type Hasher struct {
	params Argon2Params
	sem    chan struct{}
	rand   io.Reader

	maxWait atomic.Int64 // nanoseconds; 0: wait as long as the context allows
	waiting atomic.Int64 // requests waiting for a slot
	refused atomic.Int64 // requests turned away by admission control
	avg     atomic.Int64 // moving average of one hash, in nanoseconds

	dummyOnce sync.Once
	dummy     string
}

// NewHasher returns a Hasher with the given parameters that runs at most
// maxConcurrent hashes at once (DefaultConcurrency if maxConcurrent <= 0) and
// draws salts from rand (crypto/rand.Reader if nil). It panics if p is
// invalid: configuration must call p.Validate first.
func NewHasher(p Argon2Params, maxConcurrent int, rand io.Reader) *Hasher {
	if err := p.Validate(); err != nil {
		panic("secure: NewHasher: " + err.Error())
	}
	if maxConcurrent <= 0 {
		// The CPUs the Go runtime runs on: the container's CPU limit
		// where there is one, or GOMAXPROCS as the operator set it.
		// runtime.NumCPU counts the host's CPUs in a container, and a
		// hash per host CPU would be the burst admission control is
		// there to stop.
		maxConcurrent = DefaultConcurrency(p, runtime.GOMAXPROCS(0))
	}
	return &Hasher{params: p, sem: make(chan struct{}, maxConcurrent), rand: randOrDefault(rand)}
}

// DefaultConcurrency is how many hashes run at once when the operator does
// not say: as many as the CPUs hold with each hash's lanes on a core of
// their own (CPUs / parallelism, at least one). More would only make every
// hash slower: the lanes of two hashes share the cores, a lone sign-in's
// wait doubles at half the peak, and a refused request has to wait for a
// core too (BENCHMARKS.md, "Overload").
func DefaultConcurrency(p Argon2Params, cpus int) int {
	lanes := max(int(p.Threads), 1)
	return max(cpus/lanes, 1)
}

// Slots is how many hashes run at once.
func (h *Hasher) Slots() int { return cap(h.sem) }

// SetQueueLimit turns on admission control: a request that would wait more
// than maxWait for a free slot, judged by the number waiting and the recent
// time per hash, is refused with a *BusyError. Zero turns it off.
func (h *Hasher) SetQueueLimit(maxWait time.Duration) { h.maxWait.Store(int64(maxWait)) }

// Waiting returns how many requests are waiting for a hashing slot.
func (h *Hasher) Waiting() int { return int(h.waiting.Load()) }

// Saturate takes every hashing slot, as a burst of sign-ins would, until
// release is called: for overload drills and tests of the busy answer. It
// waits for hashes in progress to finish.
func (h *Hasher) Saturate() (release func()) {
	for range cap(h.sem) {
		h.sem <- struct{}{}
	}
	return func() {
		for range cap(h.sem) {
			<-h.sem
		}
	}
}

// Refused returns how many requests admission control has turned away.
func (h *Hasher) Refused() int64 { return h.refused.Load() }

// Params returns the parameters new hashes are made with.
func (h *Hasher) Params() Argon2Params { return h.params }

// Hash returns the PHC string of password:
// $argon2id$v=19$m=65536,t=3,p=2$<salt>$<hash>, both in unpadded standard base64.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	if _, err := io.ReadFull(h.rand, salt); err != nil {
		return "", fmt.Errorf("secure: reading salt: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	start := time.Now()
	key := argon2.IDKey([]byte(password), salt, h.params.Time, h.params.Memory, h.params.Threads, h.params.KeyLen)
	h.observe(time.Since(start))
	return encodePHC(h.params, salt, key), nil
}

// Verify reports whether password matches the PHC string phc, and when it
// does, whether the hash was made with weaker parameters than the current
// ones (salt length, memory, time, threads or key length lower), so the caller
// should store a fresh Hash. A wrong password is ok=false with a nil error;
// errors are for a malformed hash (wrapping ErrInvalidHash) or ctx ending
// while waiting for a free slot.
func (h *Hasher) Verify(ctx context.Context, password, phc string) (ok, needsRehash bool, err error) {
	stored, err := parsePHC(phc)
	if err != nil {
		return false, false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	p := stored.params
	start := time.Now()
	key := argon2.IDKey([]byte(password), stored.salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	h.observe(time.Since(start))
	if subtle.ConstantTimeCompare(key, stored.key) != 1 {
		return false, false, nil
	}
	cur := h.params
	needsRehash = p.Memory < cur.Memory || p.Time < cur.Time || p.Threads < cur.Threads ||
		p.KeyLen < cur.KeyLen || uint32(len(stored.salt)) < cur.SaltLen
	return true, needsRehash, nil
}

// VerifyDummy does the work of one Verify with the current parameters and
// throws the result away. Call it when the account does not exist, so that
// unknown and known identifiers answer in similar time. Its error, like
// Verify's, says the hash did not run (a *BusyError, or ctx ending): the
// caller must answer as it would for a known identifier.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	h.dummyOnce.Do(func() {
		// Random salt and key: no password can match. The key need not come
		// from argon2, which spares the first unknown login a second hash.
		salt := make([]byte, h.params.SaltLen)
		key := make([]byte, h.params.KeyLen)
		_, _ = io.ReadFull(h.rand, salt) // zeros on failure still cost the same
		_, _ = io.ReadFull(h.rand, key)
		h.dummy = encodePHC(h.params, salt, key)
	})
	_, _, err := h.Verify(ctx, password, h.dummy)
	return err
}

// Admit says, without queueing, whether a hash asked for now would be
// turned away by admission control: a *BusyError if every slot is taken
// and the requests already waiting would keep it longer than the queue
// limit. Callers check it before any other work of a request that will
// hash (store reads, throttles), so that under overload a refusal costs
// next to nothing and is answered at once. A nil answer reserves nothing:
// the hash itself may still be refused.
func (h *Hasher) Admit() error {
	limit := time.Duration(h.maxWait.Load())
	if limit <= 0 || len(h.sem) < cap(h.sem) {
		return nil
	}
	n := h.waiting.Load() + 1
	if wait := time.Duration(n) * time.Duration(h.avg.Load()) / time.Duration(cap(h.sem)); wait > limit {
		h.refused.Add(1)
		return &BusyError{RetryAfter: retryAfter(wait)}
	}
	return nil
}

// retryAfter is a wait rounded up to whole seconds, at least one.
func retryAfter(wait time.Duration) time.Duration {
	return max(time.Second, (wait + time.Second - 1).Truncate(time.Second))
}

func (h *Hasher) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case h.sem <- struct{}{}:
		return nil
	default:
	}
	n := h.waiting.Add(1)
	defer h.waiting.Add(-1)
	if limit := time.Duration(h.maxWait.Load()); limit > 0 {
		// The n-th in line waits for about n hashes spread over the slots.
		if wait := time.Duration(n) * time.Duration(h.avg.Load()) / time.Duration(cap(h.sem)); wait > limit {
			h.refused.Add(1)
			return &BusyError{RetryAfter: retryAfter(wait)}
		}
	}
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// observe folds one hash's duration into the moving average (weight 1/8).
func (h *Hasher) observe(d time.Duration) {
	for {
		old := h.avg.Load()
		next := int64(d)
		if old != 0 {
			next = old + (int64(d)-old)/8
		}
		if h.avg.CompareAndSwap(old, next) {
			return
		}
	}
}

func (h *Hasher) release() { <-h.sem }

type phcHash struct {
	params    Argon2Params
	salt, key []byte
}

func encodePHC(p Argon2Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// parsePHC accepts exactly the form encodePHC writes, with parameters in a
// range we are willing to run.
func parsePHC(s string) (phcHash, error) {
	bad := func(format string, args ...any) (phcHash, error) {
		return phcHash{}, fmt.Errorf("%w: "+format, append([]any{ErrInvalidHash}, args...)...)
	}
	if len(s) > maxPHCLen {
		return bad("longer than %d bytes", maxPHCLen)
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return bad("want $argon2id$v=19$m=..,t=..,p=..$salt$hash")
	}
	if parts[1] != "argon2id" {
		return bad("unsupported algorithm %q", parts[1])
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("unsupported version %q", parts[2])
	}
	fields := strings.Split(parts[3], ",")
	if len(fields) != 3 {
		return bad("want parameters m=..,t=..,p=..")
	}
	var nums [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(fields[i], name)
		n, err := parseDecimal(v)
		if !ok || err != nil {
			return bad("parameter %d: want %s<number>", i+1, name)
		}
		nums[i] = n
	}
	m, t, p := nums[0], nums[1], nums[2]
	switch {
	case p < 1 || p > 255:
		return bad("threads %d outside 1..255", p)
	case m < 8*p || m > maxMemoryKiB:
		return bad("memory %d KiB outside %d..%d", m, 8*p, maxMemoryKiB)
	case t < 1 || t > maxTime:
		return bad("time %d outside 1..%d", t, maxTime)
	}
	salt, err := decodeB64(base64.RawStdEncoding, parts[4])
	if err != nil {
		return bad("salt: %v", err)
	}
	if len(salt) < minSaltLen || len(salt) > maxSaltLen {
		return bad("salt length %d outside %d..%d", len(salt), minSaltLen, maxSaltLen)
	}
	key, err := decodeB64(base64.RawStdEncoding, parts[5])
	if err != nil {
		return bad("hash: %v", err)
	}
	if len(key) < minKeyLen || len(key) > maxKeyLen {
		return bad("hash length %d outside %d..%d", len(key), minKeyLen, maxKeyLen)
	}
	return phcHash{
		params: Argon2Params{Memory: uint32(m), Time: uint32(t), Threads: uint8(p), SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))},
		salt:   salt,
		key:    key,
	}, nil
}

// parseDecimal accepts only canonical decimal: digits, no sign, no leading
// zero, at most 10 digits.
func parseDecimal(s string) (uint64, error) {
	if s == "" || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, errors.New("not a canonical number")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("not a canonical number")
		}
	}
	return strconv.ParseUint(s, 10, 64)
}

// decodeB64 decodes canonical unpadded base64: the decoder itself skips CR
// and LF, so those are refused first.
func decodeB64(enc *base64.Encoding, s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("illegal line break in base64")
	}
	return enc.Strict().DecodeString(s)
}

func randOrDefault(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}

// BusyProblem turns a *BusyError into the problem people see (503, with
// Retry-After); ok is false for any other error.
func BusyProblem(err error) (p *problem.Error, ok bool) {
	var b *BusyError
	if !errors.As(err, &b) {
		return nil, false
	}
	secs := int((b.RetryAfter + time.Second - 1) / time.Second)
	return &problem.Error{Status: http.StatusServiceUnavailable, MsgID: "busy.retry",
		Args: map[string]any{"Seconds": secs}, RetryAfter: b.RetryAfter, Cause: err}, true
}
