package main

import (
	"testing"
	"time"
)

// The ideal server's p99 against what queueing theory gives for
// deterministic service and Poisson arrivals (M/D/c): at half the
// capacity, 4.34 service times for one server and 2.56 for two; under
// two at a tenth of it.
func TestIdealQueueP99(t *testing.T) {
	service := []time.Duration{time.Second}
	for _, tc := range []struct {
		slots    int
		rate     float64
		min, max float64 // p99 in service times
	}{
		{1, 0.5, 4.1, 4.6},
		{2, 1.0, 2.4, 2.7},
		{1, 0.1, 1.5, 2.2},
		{2, 0.2, 1.0, 1.4},
	} {
		got := idealQueueP99(service, tc.slots, tc.rate).Seconds()
		if got < tc.min || got > tc.max {
			t.Errorf("%d slot(s) at %.1f/s: p99 %.2f service times, want %.2f–%.2f", tc.slots, tc.rate, got, tc.min, tc.max)
		}
	}
	if got := idealQueueP99(nil, 1, 1); got != 0 {
		t.Errorf("no service times: %v, want 0", got)
	}
}
