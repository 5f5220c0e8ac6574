// Package secure holds the security helpers every flow shares, so each exists
// once: Argon2id password hashing (with a dummy verification that keeps
// unknown accounts as slow as known ones), generation and normalisation of
// one-time codes, the keyring that seals secret columns and keys the hashes of
// one-time codes, masking of personal data before it reaches a log, and the
// two services built on them that every flow calls: OneTimeCodes (issue and
// check codes kept only as keyed hashes, with expiry and attempt limits) and
// Throttle (failure counters with growing lockouts, kept in the store so they
// hold across processes).
//
// It owns no HTTP and no SQL: the services persist through the store's
// interfaces. Randomness is injected as an io.Reader (nil means
// crypto/rand.Reader) and time as a clock, so tests are deterministic.
package secure
