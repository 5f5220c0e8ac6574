package store

import (
	"context"
	"time"
)

// PINService is a citizen's enabled Cl@ve-PIN-style service: while it
// runs, the citizen can ask for one-time PINs by SMS.
type PINService struct {
	CitizenID string
	// PersonalCodeHash is the keyed hash of the optional 4-character code
	// the citizen chose when enabling; "" when none.
	PersonalCodeHash string
	EnabledAt        time.Time // when it was last enabled or renewed
	ExpiresAt        time.Time
	EnabledBy        string    // "citizen:<id>" or "officer:<id>"
	NoticeSentAt     time.Time // expiry notice sent for this period; zero until then
	Version          int64
}

// PINServices keeps citizens' PIN services.
type PINServices interface {
	// SetPINService creates or replaces (renews) the citizen's service and
	// clears NoticeSentAt; p.Version becomes the stored version.
	SetPINService(ctx context.Context, p *PINService) error
	PINServiceOf(ctx context.Context, citizenID string) (*PINService, error)
	// DeletePINService turns the service off; ErrNotFound when it was off.
	DeletePINService(ctx context.Context, citizenID string) error
	// PINServicesToNotify lists up to limit services expiring after from
	// and before until whose notice is not sent yet, soonest first.
	PINServicesToNotify(ctx context.Context, from, until time.Time, limit int) ([]PINService, error)
	// MarkPINNoticeSent records the notice if p.Version is current;
	// ErrStale otherwise (renewed meanwhile, or another process sent it).
	MarkPINNoticeSent(ctx context.Context, p *PINService, at time.Time) error
}

// Passkey is a citizen's WebAuthn credential.
type Passkey struct {
	ID           string
	CitizenID    string
	CredentialID []byte // the authenticator's credential ID; unique
	Name         string // the citizen's label, e.g. "Mòbil"
	// Credential is the WebAuthn library's credential record (public key,
	// flags, attestation), encoded by the caller.
	Credential []byte
	SignCount  int64
	CreatedAt  time.Time
	LastUsedAt time.Time // zero until first used
}

// Passkeys keeps citizens' passkeys.
type Passkeys interface {
	// CreatePasskey stores p; DuplicateError on "credential".
	CreatePasskey(ctx context.Context, p *Passkey) error
	// PasskeysOf lists a citizen's passkeys, oldest first.
	PasskeysOf(ctx context.Context, citizenID string) ([]Passkey, error)
	PasskeyByCredentialID(ctx context.Context, credentialID []byte) (*Passkey, error)
	// UsePasskey records a sign-in: the new counter and credential record,
	// if the stored counter is still prev; ErrStale otherwise (a parallel
	// use, or a cloned authenticator racing the real one).
	UsePasskey(ctx context.Context, p *Passkey, prev int64) error
	// DeletePasskey removes a citizen's passkey; ErrNotFound when the
	// citizen has no passkey with that ID.
	DeletePasskey(ctx context.Context, citizenID, id string) error
	// DeletePasskeysOf removes every passkey of a citizen (deregistration)
	// and says how many there were.
	DeletePasskeysOf(ctx context.Context, citizenID string) (int, error)
}
