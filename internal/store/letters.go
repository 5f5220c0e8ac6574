package store

import (
	"context"
	"time"

	"github.com/clau-eid/clau/internal/identity"
)

// Reference is one record of the administration's reference registry
// (padrón, population register): who a person is and where they live. It
// is kept apart from registered citizens: a reference record registers
// nobody; it only lets a citizen ask for a registration letter, which is
// posted to the address here.
type Reference struct {
	Document      identity.Document
	DocValidity   identity.Date // DNI validity date, or issue date when DocPermanent
	DocPermanent  bool
	SupportNumber string // NIE support number
	GivenName     string
	FirstSurname  string
	SecondSurname string
	BirthDate     identity.Date
	Nationality   string // ISO 3166-1 alpha-2
	AddressLine1  string
	AddressLine2  string
	PostalCode    string
	Municipality  string
	Province      string
	ImportID      string // the import that last wrote it
	Version       int64
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// References keeps the reference registry.
type References interface {
	// PutReference inserts r, or replaces the record with its document
	// (bumping Version); it reports whether it inserted.
	PutReference(ctx context.Context, r *Reference) (bool, error)
	ReferenceByDocument(ctx context.Context, number string) (*Reference, error)
	CountReferences(ctx context.Context) (int64, error)
}

// Letter statuses.
const (
	LetterQueued     = "queued"     // waiting to be printed
	LetterSent       = "sent"       // printed and posted; code wiped
	LetterSuperseded = "superseded" // a newer letter replaced it before it was sent; code wiped
)

// Letter is a registration letter: an activation code posted to the
// address of a reference record. The code is kept sealed only until the
// letter is printed.
type Letter struct {
	ID         string
	CitizenID  string
	Language   string
	Recipient  string   // full name as printed
	Address    []string // address lines as printed, postal code and municipality included
	CodeSealed string   // keyring-sealed activation code; "" once sent or superseded
	ExpiresAt  time.Time
	Status     string
	CreatedAt  time.Time
	SentAt     time.Time // when marked sent or superseded
	Version    int64
}

// Letters keeps registration letters.
type Letters interface {
	CreateLetter(ctx context.Context, l *Letter) error
	// SupersedeLetters marks the citizen's queued letters superseded and
	// wipes their codes, returning how many.
	SupersedeLetters(ctx context.Context, citizenID string, at time.Time) (int, error)
	LetterByID(ctx context.Context, id string) (*Letter, error)
	// QueuedLetters returns the letters queued before until, oldest first:
	// a print batch.
	QueuedLetters(ctx context.Context, until time.Time) ([]Letter, error)
	// MarkLettersSent marks the letters queued before until sent at at and
	// wipes their codes, returning how many.
	MarkLettersSent(ctx context.Context, until, at time.Time) (int, error)
	// ListLetters returns a citizen's letters, newest first.
	ListLetters(ctx context.Context, citizenID string) ([]Letter, error)
	// WasDeregistered reports whether a deregistered record holds the
	// document: such a person registers again only at an office or with a
	// certificate, never by letter.
	WasDeregistered(ctx context.Context, docNumber string) (bool, error)
}
