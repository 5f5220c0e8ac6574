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
// a soft memory limit that counts the hashes in flight once, plus room
// for six freed blocks (one hash's memory each) of garbage, so the
// collector runs about once per six hashes whatever their size, and
// memory stays bounded by a number the operator can read in the logs.
//
// The room is counted in blocks, not bytes. A fixed 48 MiB (six blocks at
// 8 MiB, where it was first measured) or the hashes in flight left room
// for one or two blocks at larger hashes: the heap ran against the limit,
// the runtime handed freed blocks back to the kernel to stay under it, and
// each hash faulted its block in again page by page. On 2 CPUs that cost
// 248-277 ms of CPU per sign-in at the 64 MiB default against 151-184 ms
// with Go's defaults, and 48-51 ms against 32-40 ms at 19 MiB; with room
// for six blocks both matched Go's defaults
// (BENCHMARKS.md, "The collector at larger hashing costs").

const (
	// gcBase is the room for everything but hashing: templates, message
	// catalogues, routes, connections (the live heap is about 7 MB).
	gcBase = 32 << 20
	// gcHeadroomBlocks is the least garbage between two collections, in
	// hashes' blocks.
	gcHeadroomBlocks = 6
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
// for a server hashing with h: room for the rest of the server, the
// hashes in flight, and as garbage between collections six hashes'
// blocks or as much again as in flight, whichever is more. While the rest
// of the live heap stays under 16 MiB that is never less room than the
// default GOGC=100 gives with every slot busy.
func (h *Hasher) GCMemoryLimit() int64 {
	block := int64(h.params.Memory) << 10
	hashing := h.HashingMemory()
	return gcBase + hashing + max(gcHeadroomBlocks*block, hashing)
}
