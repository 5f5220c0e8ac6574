package sqlstore_test

import (
	"testing"

	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/store/sqlstore/sqltest"
	"github.com/clau-eid/clau/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, driver string) {
		storetest.Run(t, func(t *testing.T) store.Store { return sqltest.Open(t, driver) })
	})
}
