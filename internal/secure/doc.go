// Package secure holds the security helpers every flow shares, so each exists
// once: Argon2id password hashing (with a dummy verification that keeps
// unknown accounts as slow as known ones), generation and normalisation of
// one-time codes, the keyring that seals secret columns and keys the hashes of
// one-time codes, and masking of personal data before it reaches a log.
//
// It owns no storage and no HTTP: callers pass bytes and strings in and store
// what comes out. Randomness is injected as an io.Reader (nil means
// crypto/rand.Reader) and time as a time.Time, so tests are deterministic.
package secure
