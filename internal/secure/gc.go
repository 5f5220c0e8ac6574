package secure

// Each argon2id hash allocates its whole memory block afresh
// (golang.org/x/crypto/argon2 has no way to reuse one), so at a low cost
// the server turns over hashing memory faster than anything else: at
// 8 MiB per hash and 100 sign-ins a second, 800 MiB/s. With the Go
// runtime's default (GOGC=100, the heap may grow to twice what was live
// at the last collection) the blocks in flight are most of the live heap
// and a collection runs every two or three hashes; the scavenger then
// hands the freed blocks back to the kernel and the next hash pays page
// faults to get them again. Profiles put marking and scavenging at about
// an eighth of the server's CPU per sign-in at 8 MiB (BENCHMARKS.md, "The
// hash's memory and the sign-in pages").
//
// GCMemoryLimit is the fixed room the server gives the collector instead:
// a soft memory limit that counts the hashes in flight once, plus a fixed
// headroom, so the collector runs about once per headroom of garbage
// whatever the hashes' size, and memory stays bounded by a number the
// operator can read in the logs.

const (
	// gcBase is the room for everything but hashing: templates, message
	// catalogues, routes, connections (the live heap is about 7 MB).
	gcBase = 32 << 20
	// gcHeadroom is the least garbage between two collections: six
	// hashes at 8 MiB, one at the 64 MiB default.
	gcHeadroom = 48 << 20
	// GCPercent is the collector's percent under the limit: above the
	// default so the limit, not the growth ratio, paces collections
	// while hashes are in flight, finite so an idle server's heap stays
	// small.
	GCPercent = 400
)

// HashingMemory is the most memory the hasher's password hashes hold at
// once: the argon2id memory times the hashing slots.
func (h *Hasher) HashingMemory() int64 {
	return int64(h.params.Memory) << 10 * int64(cap(h.sem))
}

// GCMemoryLimit is the soft memory limit (runtime/debug.SetMemoryLimit)
// for a server whose password hashes hold at most hashing bytes at once:
// room for the rest of the server, the hashes in flight, and as much
// again (at least gcHeadroom) as garbage between collections. While the
// rest of the live heap stays under 16 MiB that is never less room than
// the default GOGC=100 gives with every slot busy.
func GCMemoryLimit(hashing int64) int64 {
	return gcBase + hashing + max(gcHeadroom, hashing)
}
