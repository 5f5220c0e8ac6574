package secure

import "io"

// fastParams keep argon2 cheap so the suite runs in a blink.
var fastParams = Argon2Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// cycleReader yields its bytes over and over: a deterministic random source.
type cycleReader struct {
	b []byte
	i int
}

func (r *cycleReader) Read(p []byte) (int, error) {
	for n := range p {
		p[n] = r.b[r.i%len(r.b)]
		r.i++
	}
	return len(p), nil
}

func repeating(b ...byte) io.Reader { return &cycleReader{b: b} }

// failingReader is a random source that is broken.
type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }
