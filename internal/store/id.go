package store

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
)

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID returns a new random record ID: 128 bits, 26 lower-case base32
// characters. Random rather than time-ordered IDs spread inserts across a
// distributed database's ranges instead of piling them on one.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return strings.ToLower(idEncoding.EncodeToString(b[:]))
}
