// Package identity owns the registry's people and places: citizens (with
// their DNI/NIE document), registration offices and officers. It defines
// their types, parses and validates what people type for them, and nothing
// else: no storage, no HTTP, no hashing. Persistence is the store's job
// (internal/store), credentials are internal/secure's.
package identity

import "time"

// Level is a citizen's registration level.
type Level string

const (
	LevelBasic    Level = "basic"    // registered by letter
	LevelAdvanced Level = "advanced" // identity checked in person or by certificate
)

// Channel says how a citizen was registered.
type Channel string

const (
	ChannelOffice      Channel = "office"
	ChannelCertificate Channel = "certificate"
	ChannelLetter      Channel = "letter"
	ChannelSeed        Channel = "seed" // synthetic data from `clau seed`
)

// CitizenStatus is where a citizen's record stands.
type CitizenStatus string

const (
	StatusPending      CitizenStatus = "pending"      // registered, credential not yet activated
	StatusActive       CitizenStatus = "active"       // activated
	StatusSuspended    CitizenStatus = "suspended"    // blocked by an officer
	StatusDeregistered CitizenStatus = "deregistered" // renounced or removed; keeps history
)

// Citizen is a registered person.
type Citizen struct {
	ID       string
	Document Document
	// DocValidity is the DNI's validity (expiry) date or, when DocPermanent
	// is set, its issue date. Unused for an NIE.
	DocValidity  Date
	DocPermanent bool
	// SupportNumber is the NIE card's support number (número de soporte).
	SupportNumber string

	GivenName     string
	FirstSurname  string
	SecondSurname string
	BirthDate     Date
	Nationality   string // ISO 3166-1 alpha-2, upper case
	Email         string // lower-cased domain
	Mobile        string // E.164, e.g. +34612345678
	Language      string // preferred language: ca, es or en

	Level    Level
	Channel  Channel
	OfficeID string // the office that registered the citizen; "" when not at an office
	Status   CitizenStatus

	Version   int64 // optimistic concurrency: bumped by every update
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Office is a registration office.
type Office struct {
	ID            string
	Code          string // short public code, e.g. "BCN-01"
	Name          string
	Address       string
	PostalCode    string
	Municipality  string
	Province      string // province or island
	Phone         string
	Email         string
	OpeningHours  string // free text, e.g. "Mon-Fri 09:00-14:00"
	Services      string // what the office does, free text
	Accessibility string // accessibility notes, free text
	Active        bool

	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Role is what an officer may do.
type Role string

const (
	RoleOfficer    Role = "officer"    // registers citizens for their office
	RoleSupervisor Role = "supervisor" // also manages the office's officers
	RoleAdmin      Role = "admin"      // also manages offices
)

// OfficerStatus is whether an officer may sign in.
type OfficerStatus string

const (
	OfficerActive   OfficerStatus = "active"
	OfficerDisabled OfficerStatus = "disabled"
)

// Officer is a member of an office's staff.
type Officer struct {
	ID           string
	Username     string
	DisplayName  string
	PasswordHash string // argon2id PHC string
	// TOTPSecretSealed is the TOTP seed sealed by the keyring with the
	// officer's ID as associated data; empty until enrolled.
	TOTPSecretSealed string
	TOTPLastStep     int64 // last accepted TOTP time step, against replay
	OfficeID         string
	Role             Role
	Status           OfficerStatus

	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}
