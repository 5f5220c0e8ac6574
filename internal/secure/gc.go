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
// for six freed blocks (one hash's memory each) of garbage, and memory
// stays bounded by a number the operator can read in the logs. GCPercent
// is the growth ratio that paces collections inside that room, about
// once per six hashes whatever their size, without the heap reaching
// the limit.
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
	// gcLiveBase is the live heap besides the hashes GCPercent counts on.
	gcLiveBase = 16 << 20
	// gcGoalTenths is how much of the limit, in tenths, the collector's
	// own goal may reach with every slot busy. The runtime's scavenger
	// hands free memory back to the kernel once the process holds 95% of
	// the limit, so a goal above that keeps it returning the freed blocks
	// that the next hashes fault in again.
	gcGoalTenths = 9
	// The GC percent stays within these bounds: finite so an idle
	// server's heap stays small, and not so low that collections come
	// every hash or two when many slots hash at once.
	gcPercentMin, gcPercentMax = 50, 400
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

// GCPercent is the collector's percent (runtime/debug.SetGCPercent) for a
// server hashing with h under GCMemoryLimit: the growth ratio that, with
// every slot busy and the rest of the live heap at 16 MiB, puts the next
// collection at nine tenths of the limit. So the ratio paces collections,
// about once per six hashes' blocks of garbage, and the limit is only a
// bound that a heap growing for other reasons meets. When the limit paced
// them instead (a fixed 400 at 19 MiB), the heap sat at the limit, the
// scavenger kept returning freed blocks to the kernel, and zeroing each
// new block, page faults included, took 3.9-6.0 ms per 19 MiB sign-in
// instead of 1.2-1.5 ms (BENCHMARKS.md, "The collector's percent from the
// limit").
func (h *Hasher) GCPercent() int {
	live := gcLiveBase + h.HashingMemory()
	p := int(100*gcGoalTenths*h.GCMemoryLimit()/(10*live)) - 100
	return min(max(p, gcPercentMin), gcPercentMax)
}
