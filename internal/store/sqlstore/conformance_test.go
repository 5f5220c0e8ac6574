package sqlstore_test

import (
	"testing"

	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/store/sqlstore/sqltest"
	"github.com/clau-eid/clau/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	for _, driver := range sqltest.Drivers {
		t.Run(driver, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store { return sqltest.Open(t, driver) })
		})
	}
}
