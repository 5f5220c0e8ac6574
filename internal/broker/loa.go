package broker

import "strings"

// LoA is an eIDAS level of assurance.
type LoA string

// Levels, lowest first.
const (
	Low         LoA = "low"
	Substantial LoA = "substantial"
	High        LoA = "high"
)

const loaURIPrefix = "http://eidas.europa.eu/LoA/"

// ParseLoA accepts a level name or its eIDAS URI.
func ParseLoA(s string) (LoA, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), loaURIPrefix)
	switch l := LoA(strings.ToLower(s)); l {
	case Low, Substantial, High:
		return l, true
	}
	return "", false
}

// URI is the eIDAS URI of the level.
func (l LoA) URI() string { return loaURIPrefix + string(l) }

func (l LoA) rank() int {
	switch l {
	case Low:
		return 1
	case Substantial:
		return 2
	case High:
		return 3
	}
	return 0
}

// AtLeast reports whether l reaches m.
func (l LoA) AtLeast(m LoA) bool { return l.rank() >= m.rank() && l.rank() > 0 }

// Valid reports whether l is a known level.
func (l LoA) Valid() bool { return l.rank() > 0 }
