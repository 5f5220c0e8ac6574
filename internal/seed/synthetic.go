// Package seed makes synthetic registry data: citizens with valid but
// made-up documents for load tests and benchmarks, and the demo's offices,
// officers and citizens. It never produces anything that could be a real
// person's data on purpose: document numbers come from a reserved-looking
// high range and phone numbers from a fixed fictional block.
package seed

import (
	"fmt"
	"time"

	"github.com/clau-eid/clau/internal/identity"
)

var (
	givenNames = []string{"Maria", "Jordi", "Núria", "Pere", "Laura", "Marc", "Anna", "Joan", "Carmen",
		"José", "Lucía", "Javier", "Aitana", "Iker", "Xabier", "Uxía", "Roser", "Àlex", "Elena", "Hugo"}
	surnames = []string{"Garcia", "Martínez", "López", "Puig", "Ferrer", "Vidal", "Soler", "Ibáñez",
		"Etxeberria", "Castro", "Rodríguez", "Serra", "Font", "Pons", "Navarro", "Ruiz", "Gómez", "Díaz"}
)

// DNI returns the i-th synthetic DNI: 8 digits from 90,000,000 upwards and
// its control letter.
func DNI(i int) string {
	n := 90_000_000 + i%10_000_000
	return fmt.Sprintf("%08d%c", n, identity.ControlLetter(n))
}

// Mobile returns the i-th synthetic Spanish mobile number in E.164.
func Mobile(i int) string {
	return fmt.Sprintf("+3460%07d", i%10_000_000)
}

// Citizen returns the i-th synthetic citizen, valid and normalised, with a
// fresh ID. Different i give different documents and mobiles (up to 10
// million).
func Citizen(i int, id string) identity.Citizen {
	n := 90_000_000 + i%10_000_000
	doc := DNI(i)
	return identity.Citizen{
		ID:            id,
		Document:      identity.Document{Type: identity.DNI, Number: doc},
		DocValidity:   identity.Date{Year: 2030 + i%5, Month: time.Month(1 + i%12), Day: 1 + i%28},
		GivenName:     givenNames[i%len(givenNames)],
		FirstSurname:  surnames[i%len(surnames)],
		SecondSurname: surnames[(i/len(surnames)+3)%len(surnames)],
		BirthDate:     identity.Date{Year: 1940 + i%65, Month: time.Month(1 + (i/12)%12), Day: 1 + (i/7)%28},
		Nationality:   "ES",
		Email:         fmt.Sprintf("citizen%d@example.org", n),
		Mobile:        Mobile(i),
		Language:      []string{"ca", "es", "en"}[i%3],
		Level:         identity.LevelAdvanced,
		Channel:       identity.ChannelSeed,
		Status:        identity.StatusPending,
	}
}
