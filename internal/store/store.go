// Package store defines what Clau keeps: one interface per domain (citizens,
// offices, officers, audit trail, one-time codes, throttling counters,
// outbox), the records that are not a domain's own types, and the errors
// every driver returns. internal/store/sqlstore implements it on SQLite and
// PostgreSQL; internal/store/storetest is the conformance suite both pass.
//
// It owns no logic beyond the contract: hashing chains, checking codes and
// deciding lockouts belong to audit and secure, which call these methods.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/problem"
)

// Errors every driver returns, wrapped with context.
var (
	ErrNotFound = errors.New("not found")
	// ErrStale means an optimistic update lost a race: the record's version
	// changed since it was read. Reload and decide again.
	ErrStale = errors.New("record changed since it was read")
)

// DuplicateError says a unique field already holds the value.
type DuplicateError struct {
	Field string // "document", "mobile", "username", "code", ...
}

func (e *DuplicateError) Error() string { return fmt.Sprintf("duplicate %s", e.Field) }

// IsDuplicate reports whether err is a DuplicateError, and on which field.
func IsDuplicate(err error) (string, bool) {
	var d *DuplicateError
	if errors.As(err, &d) {
		return d.Field, true
	}
	return "", false
}

// DuplicateProblem turns a DuplicateError into the field problem people
// are shown (message "duplicate.<field>", 422); any other error passes
// through unchanged. Every caller that creates unique records uses it.
func DuplicateProblem(err error) error {
	if f, ok := IsDuplicate(err); ok {
		return problem.Invalid(problem.Field{Name: f, MsgID: "duplicate." + f})
	}
	return err
}

// Store is the whole store. Every method on it runs in its own transaction;
// InTx runs several in one.
type Store interface {
	Tx
	// InTx runs fn in one transaction and commits if fn returns nil. On a
	// serialization failure (PostgreSQL-compatible distributed SQL) or a busy
	// SQLite it rolls back and runs fn again, so fn must have no effects
	// outside the transaction it is given.
	InTx(ctx context.Context, fn func(tx Tx) error) error
	Ping(ctx context.Context) error
	Close() error
	// Driver names the driver: "sqlite" or "postgres".
	Driver() string
}

// Tx is every domain's store, bound to one transaction (or, on Store, to
// one implicit transaction per call).
type Tx interface {
	Citizens
	Offices
	Officers
	AuditLog
	Codes
	Counters
	Outbox
	Sealed
	Flows
	Sessions
	Passwords
	Appointments
	LogoutQueue
	Schedules
	PINServices
	Passkeys
	References
	Letters
	OIDCClients
}

// Page asks for a slice of a list ordered by a stable key.
type Page struct {
	After string // key of the last item of the previous page; "" for the first
	Limit int    // at most this many; 0 means 100
}

// Citizens keeps the citizen registry.
type Citizens interface {
	// CreateCitizen inserts c (ID set by the caller); DuplicateError on
	// "document" or "mobile" when another live record holds it.
	CreateCitizen(ctx context.Context, c *identity.Citizen) error
	// UpdateCitizen writes c if its Version is still current, then bumps
	// c.Version; ErrStale otherwise.
	UpdateCitizen(ctx context.Context, c *identity.Citizen) error
	CitizenByID(ctx context.Context, id string) (*identity.Citizen, error)
	// CitizenByDocument finds the live (not deregistered) record.
	CitizenByDocument(ctx context.Context, number string) (*identity.Citizen, error)
	// CitizenByMobile finds the live record holding a mobile number.
	CitizenByMobile(ctx context.Context, e164 string) (*identity.Citizen, error)
	ListCitizens(ctx context.Context, p Page) ([]identity.Citizen, error)
	CountCitizens(ctx context.Context) (int64, error)
}

// Offices keeps registration offices.
type Offices interface {
	CreateOffice(ctx context.Context, o *identity.Office) error // DuplicateError on "code"
	UpdateOffice(ctx context.Context, o *identity.Office) error // ErrStale on a lost race
	OfficeByID(ctx context.Context, id string) (*identity.Office, error)
	OfficeByCode(ctx context.Context, code string) (*identity.Office, error)
	ListOffices(ctx context.Context, activeOnly bool) ([]identity.Office, error)
}

// Officers keeps office staff accounts.
type Officers interface {
	CreateOfficer(ctx context.Context, o *identity.Officer) error // DuplicateError on "username"
	UpdateOfficer(ctx context.Context, o *identity.Officer) error // ErrStale on a lost race
	OfficerByID(ctx context.Context, id string) (*identity.Officer, error)
	OfficerByUsername(ctx context.Context, username string) (*identity.Officer, error)
	ListOfficers(ctx context.Context, officeID string) ([]identity.Officer, error) // "" for all
}

// AuditEvent is one entry of the append-only, hash-chained audit trail.
type AuditEvent struct {
	Seq      int64 // 1, 2, 3… assigned by the store
	At       time.Time
	Actor    string            // who: "officer:<id>", "citizen:<id>", "system", "cli"
	Action   string            // what: "citizen.register", "login.fail", ...
	Subject  string            // whom: "citizen:<id>", "office:<code>", ...
	Office   string            // office code, when an officer acted for one
	Source   string            // from where: client IP, "cli"
	Outcome  string            // "ok", "denied", "error", ...
	Details  map[string]string // extra facts; never secrets, personal data masked
	PrevHash string            // Hash of event Seq-1; "" for the first
	Hash     string            // hex SHA-256 over PrevHash and the fields above
}

// AuditLog appends to and reads the audit trail. There is no update and no
// delete.
type AuditLog interface {
	// AppendAudit locks the chain head, sets e.Seq and e.PrevHash, calls seal
	// to fill e.Hash, and stores e, all in one transaction, so concurrent
	// appenders from any number of processes form one chain.
	AppendAudit(ctx context.Context, e *AuditEvent, seal func(e *AuditEvent) error) error
	// ScanAudit calls fn for each event with Seq >= from, in order.
	ScanAudit(ctx context.Context, from int64, fn func(e AuditEvent) error) error
	// AuditHead returns the last sequence number and hash the store
	// recorded as the chain head.
	AuditHead(ctx context.Context) (seq int64, hash string, err error)
	// ListAudit returns the newest events first, filtered.
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
}

// AuditFilter narrows ListAudit.
type AuditFilter struct {
	Subject string   // exact match when set
	Actor   string   // exact match when set
	Action  string   // prefix match when set, e.g. "login."
	Actions []string // any of these exact actions when set (with Action, both must hold)
	Before  int64    // Seq below this when > 0 (paging)
	Limit   int      // 0 means 100
}

// Code is a one-time secret (activation code, SMS code, PIN) kept only as
// a keyed hash.
type Code struct {
	ID          string
	Purpose     string // "activation", "sms_otp", ...
	Subject     string // what it unlocks: a citizen ID, a transaction ID
	Hash        string // keyring.Hash of the code
	ExpiresAt   time.Time
	Attempts    int
	MaxAttempts int
	CreatedAt   time.Time
	ConsumedAt  time.Time // zero while unused
}

// Codes keeps one-time codes.
type Codes interface {
	// ReplaceCode kills every live code of the same purpose and subject and
	// stores c: a new code always invalidates the old one.
	ReplaceCode(ctx context.Context, c *Code) error
	// LiveCode returns the unconsumed code for purpose and subject (it may
	// be expired or out of attempts: the caller decides and says why).
	LiveCode(ctx context.Context, purpose, subject string) (*Code, error)
	// SpendCodeAttempt counts one attempt if the code is unconsumed and has
	// attempts left, returning the new count; ErrStale if not.
	SpendCodeAttempt(ctx context.Context, id string) (int, error)
	// RefundCodeAttempt gives back one attempt spent by a right code that
	// is not consumed yet (a step of a longer flow), so going back and
	// forth in that flow does not use the code up.
	RefundCodeAttempt(ctx context.Context, id string) error
	// ConsumeCode marks the code used; ErrStale if it already was.
	ConsumeCode(ctx context.Context, id string, at time.Time) error
	// DeleteCodesBefore removes codes that expired before t.
	DeleteCodesBefore(ctx context.Context, t time.Time) (int64, error)
}

// Counter is a throttling counter shared by every process.
type Counter struct {
	Key         string    // e.g. "login:doc:12345678Z", "login:ip:203.0.113.9"
	Count       int       // failures in the current window
	WindowStart time.Time // when the current window began
	LockedUntil time.Time // zero when not locked
	Lockouts    int       // how many lockouts so far: drives growing delays
	Version     int64
}

// Counters keeps throttling counters.
type Counters interface {
	// UpdateCounter reads the counter (a zero Counter with Key set when
	// absent), lets fn change it, and writes it back atomically; a race with
	// another process re-runs fn on the fresh value.
	UpdateCounter(ctx context.Context, key string, fn func(c *Counter) error) (Counter, error)
	Counter(ctx context.Context, key string) (Counter, error) // zero Counter when absent
	DeleteCounter(ctx context.Context, key string) error
	DeleteCountersBefore(ctx context.Context, t time.Time) (int64, error) // idle since t
}

// Message statuses in the outbox.
const (
	MsgPending = "pending" // waiting for (another) attempt
	MsgSending = "sending" // claimed by a dispatcher until ClaimedUntil
	MsgSent    = "sent"
	MsgFailed  = "failed" // gave up; LastError says why
)

// OutboxMessage is a message recorded before it is sent.
type OutboxMessage struct {
	ID            string
	Channel       string // "sms" or "email"
	Recipient     string
	Subject       string
	Body          string
	Language      string
	EventKey      string // unique: one message per event
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	ClaimedUntil  time.Time
	LastError     string
	Driver        string // driver that sent it
	CreatedAt     time.Time
	SentAt        time.Time
}

// Outbox keeps messages to send and sent.
type Outbox interface {
	// EnqueueMessage stores m unless a message with its EventKey exists, and
	// reports whether it stored it.
	EnqueueMessage(ctx context.Context, m *OutboxMessage) (bool, error)
	// ClaimMessages marks up to limit due messages (pending with
	// NextAttemptAt <= now, or sending with an expired claim) as sending
	// until now+lease, and returns them. Two dispatchers never get the same
	// message while a claim holds.
	ClaimMessages(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]OutboxMessage, error)
	// FinishMessage records an attempt's outcome: status MsgSent, MsgFailed,
	// or MsgPending with the next attempt time.
	FinishMessage(ctx context.Context, m *OutboxMessage) error
	MessageByID(ctx context.Context, id string) (*OutboxMessage, error)
	// ListMessages returns the newest first.
	ListMessages(ctx context.Context, limit int) ([]OutboxMessage, error)
}

// SealedValue is one secret column value sealed by the keyring.
type SealedValue struct {
	Table, Column, RowID string
	Value                string
}

// AAD is the associated data a sealed value is sealed with: where it
// lives, so a value copied to another row or column does not open. Every
// writer of a sealed column uses it.
func (v SealedValue) AAD() []byte { return []byte(v.Table + "." + v.Column + ":" + v.RowID) }

// Sealed lets the key-rotation command re-seal every secret column.
type Sealed interface {
	// ResealAll calls fn for every sealed value and stores what it returns
	// when that differs; it returns how many it rewrote.
	ResealAll(ctx context.Context, fn func(v SealedValue) (string, error)) (int, error)
}

// Flow is one run of a multi-step process kept as a state machine in the
// store: a login transaction, an activation, a staff sign-in. Its owner
// package defines the states and what Data holds (JSON).
type Flow struct {
	ID        string
	Kind      string // "login", "activation", "desk_login", ...
	State     string
	Subject   string // whom it is about once known: a citizen or officer ID
	Data      []byte // JSON, the owner's own
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
	ExpiresAt time.Time
}

// Flows keeps flows.
type Flows interface {
	CreateFlow(ctx context.Context, f *Flow) error
	// FlowByID returns the flow of that kind; ErrNotFound for another kind.
	FlowByID(ctx context.Context, kind, id string) (*Flow, error)
	// UpdateFlow writes f if its Version is current and bumps it; ErrStale
	// otherwise (a double submit or a second tab lost the race).
	UpdateFlow(ctx context.Context, f *Flow) error
	DeleteFlowsBefore(ctx context.Context, t time.Time) (int64, error)
}

// Session kinds.
const (
	SessionCitizen   = "citizen"    // a citizen's SSO session
	SessionDesk      = "desk"       // an officer's desk session in a browser
	SessionDeskToken = "desk_token" // an officer's bearer token for the desk API
)

// Session is a signed-in browser or an API token. ID is the hash of the
// token the client holds; the token itself is never stored.
type Session struct {
	ID         string
	Kind       string
	Subject    string   // citizen or officer ID
	LoA        string   // level reached (citizen sessions)
	AMR        []string // methods used, RFC 8176 values
	Name       string   // a label (API tokens)
	AuthTime   time.Time
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	Source     string // client address at creation
	UserAgent  string
	RevokedAt  time.Time
	Version    int64
}

// Sessions keeps sessions.
type Sessions interface {
	CreateSession(ctx context.Context, s *Session) error
	// SessionByID returns the session even if expired or revoked: the
	// caller decides and says why.
	SessionByID(ctx context.Context, id string) (*Session, error)
	// UpdateSession writes s if its Version is current (step-up, touch).
	UpdateSession(ctx context.Context, s *Session) error
	RevokeSession(ctx context.Context, id string, at time.Time) error
	// ListSessions returns the live sessions of a subject, newest first.
	ListSessions(ctx context.Context, kind, subject string, now time.Time) ([]Session, error)
	DeleteSessionsBefore(ctx context.Context, t time.Time) (int64, error)
}

// Password is a citizen's permanent password hash.
type Password struct {
	CitizenID string
	Hash      string // argon2id PHC
	SetAt     time.Time
	// NoticeAt is when the "expires soon" notice for this password went;
	// zero before (a new password clears it).
	NoticeAt time.Time
	Version  int64
}

// Passwords keeps citizens' password hashes.
type Passwords interface {
	// SetPassword creates or replaces the citizen's password.
	SetPassword(ctx context.Context, p *Password) error
	PasswordOf(ctx context.Context, citizenID string) (*Password, error)
	// UpdatePasswordHash replaces the hash if Version is current (a rehash
	// at sign-in with raised parameters); ErrStale otherwise.
	UpdatePasswordHash(ctx context.Context, p *Password) error
	// PasswordsToNotify returns passwords set in [from, to) whose expiry
	// notice has not gone, oldest first, at most limit.
	PasswordsToNotify(ctx context.Context, from, to time.Time, limit int) ([]Password, error)
	// MarkPasswordNotice records that p's expiry notice went, if p's
	// Version is current and nobody marked it before; ErrStale otherwise
	// (a new password meanwhile, or another process got there first).
	MarkPasswordNotice(ctx context.Context, p *Password, at time.Time) error
}

// Slot is a bookable time at an office with room for Capacity citizens.
type Slot struct {
	ID       string
	OfficeID string
	StartsAt time.Time
	EndsAt   time.Time
	Capacity int
	Booked   int
	Closed   bool
	Version  int64
}

// Appointment statuses.
const (
	ApptBooked    = "booked"
	ApptCancelled = "cancelled"
	ApptAttended  = "attended"
	ApptNoShow    = "no_show"
	ApptDone      = "done" // the citizen was registered from it at the desk
)

// Appointment is a citizen's booked visit.
type Appointment struct {
	ID        string
	SlotID    string
	OfficeID  string
	DocNumber string
	Name      string
	Mobile    string
	Email     string
	Language  string
	RefHash   string // keyed hash of the reference the citizen holds
	Status    string
	StartsAt  time.Time // the slot's start, filled by the store
	EndsAt    time.Time // the slot's end, filled by the store
	// RemindedAt is when the day-before reminder was queued; zero before.
	RemindedAt time.Time
	Version    int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// ErrSlotFull says a slot has no room left (or is closed or past).
var ErrSlotFull = errors.New("slot full")

// Appointments keeps slots and appointments.
type Appointments interface {
	// AddSlots stores slots, skipping any that already exist for the same
	// office and start; it returns how many it added.
	AddSlots(ctx context.Context, slots []Slot) (int, error)
	// ListSlots returns an office's slots starting in [from, to), in order.
	ListSlots(ctx context.Context, officeID string, from, to time.Time) ([]Slot, error)
	// Book takes one place in the slot and stores the appointment, in one
	// transaction: ErrSlotFull when the slot is full, closed or starts at
	// or before now; DuplicateError on "document" when the document already
	// has a live appointment. A slot is never booked past its capacity,
	// however many book at once.
	Book(ctx context.Context, a *Appointment, now time.Time) error
	AppointmentByRef(ctx context.Context, refHash string) (*Appointment, error)
	AppointmentByID(ctx context.Context, id string) (*Appointment, error)
	// SetAppointmentStatus changes an appointment's status if Version is
	// current and the change is allowed: from booked to cancelled,
	// attended, no_show or done, and from attended to done; ErrStale
	// otherwise. Cancelling frees its place in the slot.
	SetAppointmentStatus(ctx context.Context, a *Appointment, status string) error
	// MoveAppointment moves a booked appointment to another slot in one
	// transaction: the new place is taken before the old one is freed, so
	// ErrSlotFull (new slot full, closed or not after now) or ErrStale
	// (Version not current, not booked) leave the appointment where it was.
	MoveAppointment(ctx context.Context, a *Appointment, slotID string, now time.Time) error
	// ListAppointments returns an office's appointments in slots starting
	// in [from, to), by start.
	ListAppointments(ctx context.Context, officeID string, from, to time.Time) ([]Appointment, error)
}

// LogoutDelivery is one back-channel logout notification (OpenID
// Back-Channel Logout 1.0) due to a service: the logout token is signed
// at each attempt from these facts.
type LogoutDelivery struct {
	ID            string
	ClientID      string
	URI           string // the service's backchannel_logout_uri
	Subject       string // the citizen's sub for that service
	SID           string // the OP session ID the service got in its ID tokens
	Status        string // MsgPending, MsgSending, MsgSent or MsgFailed
	Attempts      int
	NextAttemptAt time.Time
	ClaimedUntil  time.Time
	LastError     string
	CreatedAt     time.Time
	SentAt        time.Time
}

// LogoutQueue keeps back-channel logout notifications until delivered,
// like the Outbox: claimed with a lease so two processes never deliver
// the same one at once.
type LogoutQueue interface {
	EnqueueLogout(ctx context.Context, d *LogoutDelivery) error
	// ClaimLogouts marks up to limit due deliveries (pending with
	// NextAttemptAt <= now, or sending with an expired claim) as sending
	// until now+lease, and returns them.
	ClaimLogouts(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]LogoutDelivery, error)
	// FinishLogout records an attempt: MsgSent, MsgFailed, or MsgPending
	// with the next attempt time.
	FinishLogout(ctx context.Context, d *LogoutDelivery) error
	// ListLogouts returns the newest first.
	ListLogouts(ctx context.Context, limit int) ([]LogoutDelivery, error)
}

// OfficeHours is an office's opening on one weekday: slots of
// SlotMinutes from Open to Close (local "15:04"), Desks places each.
type OfficeHours struct {
	Weekday     time.Weekday
	Open, Close string
	SlotMinutes int
	Desks       int
}

// Closure is a day an office is closed (local "2006-01-02").
type Closure struct {
	Day, Reason string
	CreatedAt   time.Time
}

// Schedules keeps offices' weekly hours, closures and the slots made from
// them, and the day-before reminders.
type Schedules interface {
	OfficeHours(ctx context.Context, officeID string) ([]OfficeHours, error)
	// SetOfficeHours replaces the office's weekly hours.
	SetOfficeHours(ctx context.Context, officeID string, hours []OfficeHours) error
	Closures(ctx context.Context, officeID string) ([]Closure, error)
	// AddClosure adds a closed day; DuplicateError on "day" if it exists.
	AddClosure(ctx context.Context, officeID string, c Closure) error
	// DeleteClosure removes one; ErrNotFound if there was none.
	DeleteClosure(ctx context.Context, officeID, day string) error
	// PutSlots adds slots, and reopens existing ones at the same office and
	// start with the new end and capacity (never below what is booked).
	PutSlots(ctx context.Context, slots []Slot) error
	// CloseSlot closes a slot: nobody can book it any more.
	CloseSlot(ctx context.Context, slotID string) error
	// DueReminders returns booked appointments starting in [from, to)
	// whose reminder was not sent, oldest first, at most limit.
	DueReminders(ctx context.Context, from, to time.Time, limit int) ([]Appointment, error)
	// MarkReminded records that a's reminder was sent, if nobody did
	// before: ErrStale when another process got there first.
	MarkReminded(ctx context.Context, appointmentID string, at time.Time) error
	// JoinWaitlist queues a citizen at an office; DuplicateError on
	// "document" if the document is already waiting there.
	JoinWaitlist(ctx context.Context, e *WaitEntry) error
	// OfferNext takes the office's first waiting citizen off the queue
	// (status "offered") and returns them; ErrNotFound if nobody waits.
	// Of concurrent calls each gets a different citizen.
	OfferNext(ctx context.Context, officeID string, now time.Time) (*WaitEntry, error)
}

// WaitEntry is a citizen waiting for a place at an office.
type WaitEntry struct {
	ID, OfficeID, DocNumber, Name, Mobile, Email, Language, Status string
	CreatedAt, OfferedAt                                           time.Time
}

// OIDCClientRecord is an OpenID Connect service registered at run time
// (`clau sp add`), beside those declared in config. Settings is the
// provider's own JSON; only a keyed hash of the secret is kept.
type OIDCClientRecord struct {
	ID         string
	Settings   []byte
	SecretHash string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// OIDCClients keeps the services registered at run time.
type OIDCClients interface {
	// CreateOIDCClient inserts c; DuplicateError on the ID.
	CreateOIDCClient(ctx context.Context, c *OIDCClientRecord) error
	OIDCClientByID(ctx context.Context, id string) (*OIDCClientRecord, error)
	// ListOIDCClients returns them by ID.
	ListOIDCClients(ctx context.Context) ([]OIDCClientRecord, error)
	// DeleteOIDCClient removes one; ErrNotFound if there is none.
	DeleteOIDCClient(ctx context.Context, id string) error
}
