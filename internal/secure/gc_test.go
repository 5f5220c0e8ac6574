package secure

import "testing"

func TestGCMemoryLimit(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		name   string
		params Argon2Params
		slots  int
		want   int64
	}{
		// 8 MiB hashes on 2 slots: 16 MiB in flight, six blocks (48 MiB)
		// of headroom.
		{"low cost, 2 CPUs", Argon2Params{Memory: 8192, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 2, 96 * mib},
		// OWASP's minimum, 19 MiB: six blocks are 114 MiB.
		{"OWASP, 2 CPUs", Argon2Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}, 2, (32 + 38 + 114) * mib},
		// The default 64 MiB on one slot: six blocks.
		{"default, 2 CPUs", DefaultArgon2Params(), 1, (32 + 64 + 384) * mib},
		// On eight slots, more in flight than six blocks: as much again.
		{"default, 16 CPUs", DefaultArgon2Params(), 8, (32 + 512 + 512) * mib},
	} {
		h := NewHasher(c.params, c.slots, nil)
		if got := h.HashingMemory(); got != int64(c.params.Memory)*1024*int64(c.slots) {
			t.Errorf("%s: hashing memory %d MiB", c.name, got/mib)
		}
		got := h.GCMemoryLimit()
		if got != c.want {
			t.Errorf("%s: limit %d MiB, want %d MiB", c.name, got/mib, c.want/mib)
		}
		// Room for six freed blocks beside those in flight, so the runtime
		// need not hand them back to the kernel.
		if block := int64(c.params.Memory) << 10; got-gcBase-h.HashingMemory() < gcHeadroomBlocks*block {
			t.Errorf("%s: limit %d MiB leaves room for fewer than six freed blocks", c.name, got/mib)
		}
		// Never less room than GOGC=100 leaves with every slot busy and
		// the rest of the live heap at 16 MiB.
		if gogc := 2 * (16*mib + h.HashingMemory()); got < gogc {
			t.Errorf("%s: limit %d MiB below GOGC=100's %d MiB", c.name, got/mib, gogc/mib)
		}
	}
}
