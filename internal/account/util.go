package account

import (
	"time"

	"github.com/clau-eid/clau/internal/secure"
)

// madrid is the time zone pages show times in; UTC if the zone database
// is missing.
var madrid = func() *time.Location {
	if l, err := time.LoadLocation("Europe/Madrid"); err == nil {
		return l
	}
	return time.UTC
}()

func maskPhone(s string) string { return secure.MaskPhone(s) }

func maskEmail(s string) string { return secure.MaskEmail(s) }
