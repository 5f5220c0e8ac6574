package secure

import "testing"

func TestGCMemoryLimit(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		name   string
		params Argon2Params
		slots  int
		want   int64
		pct    int
	}{
		// 8 MiB hashes on 2 slots: 16 MiB in flight, six blocks (48 MiB)
		// of headroom.
		{"low cost, 2 CPUs", Argon2Params{Memory: 8192, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 2, 96 * mib, 170},
		// OWASP's minimum, 19 MiB: six blocks are 114 MiB.
		{"OWASP, 2 CPUs", Argon2Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}, 2, (32 + 38 + 114) * mib, 206},
		// The default 64 MiB on one slot: six blocks.
		{"default, 2 CPUs", DefaultArgon2Params(), 1, (32 + 64 + 384) * mib, 400},
		// On eight slots, more in flight than six blocks: as much again.
		{"default, 16 CPUs", DefaultArgon2Params(), 8, (32 + 512 + 512) * mib, 80},
	} {
		h := NewHasher(c.params, c.slots, nil)
		if got := h.HashingMemory(); got != int64(c.params.Memory)*1024*int64(c.slots) {
			t.Errorf("%s: hashing memory %d MiB", c.name, got/mib)
		}
		got := h.GCMemoryLimit()
		if got != c.want {
			t.Errorf("%s: limit %d MiB, want %d MiB", c.name, got/mib, c.want/mib)
		}
		// The percent's goal with every slot busy stays below the 95% of
		// the limit at which the runtime starts handing memory back.
		pct := h.GCPercent()
		if pct != c.pct {
			t.Errorf("%s: GC percent %d, want %d", c.name, pct, c.pct)
		}
		if goal := (16*mib + h.HashingMemory()) * int64(100+pct) / 100; goal > got*95/100 {
			t.Errorf("%s: GC percent %d puts the goal at %d MiB, over 95%% of the %d MiB limit", c.name, pct, goal/mib, got/mib)
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
