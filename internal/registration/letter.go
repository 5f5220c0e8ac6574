package registration

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/notify"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
)

// LetterOptions turn on registration by letter.
type LetterOptions struct {
	Keyring *secure.Keyring // seals letter codes until they are printed
	// ActivateURL is the activation page printed on the letter and its QR
	// code (public_url + "/activate").
	ActivateURL string
	// CodeTTL is how long a letter's code lasts: the post takes days.
	// Default 45 days.
	CodeTTL time.Duration
	// PerDocument and PerSource limit requests (every request counts, a
	// match or not). Defaults: 3 a day per document, 20 an hour per source.
	PerDocument, PerSource secure.ThrottlePolicy
}

type letters struct {
	opts           LetterOptions
	perDoc, perSrc *secure.Throttle
}

// EnableLetters turns on registration by letter.
func (s *Service) EnableLetters(o LetterOptions) {
	if o.CodeTTL == 0 {
		o.CodeTTL = 45 * 24 * time.Hour
	}
	if o.PerDocument.MaxFailures == 0 {
		o.PerDocument = secure.ThrottlePolicy{MaxFailures: 3, Window: 24 * time.Hour, BaseLockout: 24 * time.Hour,
			MaxLockout: 7 * 24 * time.Hour, ForgetAfter: 30 * 24 * time.Hour}
	}
	if o.PerSource.MaxFailures == 0 {
		o.PerSource = secure.ThrottlePolicy{MaxFailures: 20, Window: time.Hour, BaseLockout: time.Hour,
			MaxLockout: 24 * time.Hour, ForgetAfter: 24 * time.Hour}
	}
	s.letters = &letters{opts: o,
		perDoc: secure.NewThrottle(s.store, o.PerDocument, s.opts.Now),
		perSrc: secure.NewThrottle(s.store, o.PerSource, s.opts.Now)}
}

// LettersEnabled reports whether EnableLetters was called.
func (s *Service) LettersEnabled() bool { return s.letters != nil }

// Letter request problems.
var (
	ErrLettersOff      = problem.New(http.StatusNotFound, "letter.unavailable")
	ErrAlreadyAdvanced = problem.New(http.StatusConflict, "desk.already_advanced")
)

// LetterRequest is what a citizen types to ask for a registration letter.
type LetterRequest struct {
	Document string
	Check    string // DNI: its validity date (issue date when permanent); NIE: the card's support number
	Email    string
	Mobile   string
	Language string
	Source   string // client address
}

// letterSpec is the activation code of a letter: the desk's activation
// code (same purpose, so the same activation flow takes it) with a longer
// life.
func (s *Service) letterSpec() secure.CodeSpec {
	spec := s.ActivationSpec()
	spec.TTL = s.letters.opts.CodeTTL
	return spec
}

// checkLetterRequest cleans r and returns the document, or one problem
// naming every field at fault. Only the form of the input is judged here:
// whether it matches anyone is never said.
func checkLetterRequest(r *LetterRequest) (identity.Document, error) {
	var fields []problem.Field
	doc, err := identity.ParseDocument(r.Document)
	if p, ok := problem.As(err); ok {
		fields = append(fields, p.Fields...)
	}
	check := strings.TrimSpace(r.Check)
	switch {
	case check == "":
		fields = append(fields, problem.Field{Name: "check", MsgID: "letter.check_required"})
	case doc.Type == identity.DNI:
		d, err := identity.ParseDate(check)
		if err != nil {
			fields = append(fields, problem.Field{Name: "check", MsgID: "letter.check_date"})
		} else {
			check = d.String()
		}
	case doc.Type == identity.NIE:
		check = strings.ToUpper(strings.NewReplacer(" ", "", "-", "", ".", "").Replace(check))
		if len(check) != 9 || check[0] < 'A' || check[0] > 'Z' || strings.Trim(check[1:], "0123456789") != "" {
			fields = append(fields, problem.Field{Name: "check", MsgID: "support_number.format"})
		}
	}
	r.Check = check
	if e, err := identity.NormaliseEmail(r.Email); err != nil {
		fields = append(fields, problem.Field{Name: "email", MsgID: "email.format"})
	} else {
		r.Email = e
	}
	if m, err := identity.NormaliseMobile(r.Mobile); err != nil {
		fields = append(fields, problem.Field{Name: "mobile", MsgID: "mobile.format"})
	} else {
		r.Mobile = m
	}
	switch r.Language = strings.ToLower(strings.TrimSpace(r.Language)); r.Language {
	case "ca", "es", "en":
	case "":
		r.Language = "ca"
	default:
		fields = append(fields, problem.Field{Name: "language", MsgID: "language.invalid"})
	}
	if len(fields) > 0 {
		return doc, problem.Invalid(fields...)
	}
	return doc, nil
}

// checkMatches compares the check value typed with the reference record.
func checkMatches(ref *store.Reference, check string) bool {
	switch ref.Document.Type {
	case identity.DNI:
		return !ref.DocValidity.IsZero() && ref.DocValidity.String() == check
	case identity.NIE:
		return ref.SupportNumber != "" && ref.SupportNumber == check
	}
	return false
}

// RequestLetter handles a request for a registration letter. When the
// document and check value match the reference registry and nobody holds
// the document, the citizen is registered at level basic (channel letter,
// pending) and a letter with a fresh activation code is queued for
// printing; a citizen still waiting for a letter gets a new one, which
// kills the earlier code. Whatever happens, the answer is the same nil
// (no enumeration); what happened is in the audit trail. Only input that
// is malformed, a throttled requester or a failing store get an error.
func (s *Service) RequestLetter(ctx context.Context, r LetterRequest) error {
	if s.letters == nil {
		return ErrLettersOff
	}
	doc, err := checkLetterRequest(&r)
	if err != nil {
		return err
	}
	deny := func(reason string) {
		_ = audit.New(s.store, s.opts.Now).Record(ctx, audit.Event{Actor: "anonymous", Action: "letter.request",
			Source: r.Source, Outcome: audit.Denied, Details: map[string]string{"document": doc.Masked(), "reason": reason}})
	}
	docKey, srcKey := "letter:doc:"+doc.Number, "letter:ip:"+r.Source
	for _, k := range []struct {
		th  *secure.Throttle
		key string
	}{{s.letters.perDoc, docKey}, {s.letters.perSrc, srcKey}} {
		if d, err := k.th.Locked(ctx, k.key); err != nil {
			return err
		} else if d > 0 {
			deny("throttled")
			return &problem.Error{Status: http.StatusTooManyRequests, MsgID: "letter.throttled", RetryAfter: d,
				Args: map[string]any{"Hours": int(d.Hours()) + 1}}
		}
	}
	// Every request counts, a match or not, so the limit says nothing.
	if _, err := s.letters.perDoc.Fail(ctx, docKey); err != nil {
		return err
	}
	if _, err := s.letters.perSrc.Fail(ctx, srcKey); err != nil {
		return err
	}

	ref, err := s.store.ReferenceByDocument(ctx, doc.Number)
	switch {
	case errors.Is(err, store.ErrNotFound):
		deny("not in the reference registry")
		return nil
	case err != nil:
		return err
	case !checkMatches(ref, r.Check):
		deny("check value mismatch")
		return nil
	case ref.Document.Type == identity.DNI && !ref.DocPermanent && ref.DocValidity.Before(identity.DateOf(s.opts.Now())):
		deny("document expired")
		return nil
	}

	refused := ""
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		refused = ""
		c, err := tx.CitizenByDocument(ctx, doc.Number)
		switch {
		case errors.Is(err, store.ErrNotFound):
			// Who renounced registers again only at an office or with a
			// certificate (Cl@ve's rule), never by letter.
			if was, err := tx.WasDeregistered(ctx, doc.Number); err != nil {
				return err
			} else if was {
				refused = "deregistered: office or certificate needed"
				return audit.Append(ctx, tx, &audit.Event{Actor: "anonymous", Action: "letter.request", Source: r.Source,
					Outcome: audit.Denied, Details: map[string]string{"document": doc.Masked(), "reason": refused}})
			}
			c, err = s.registerFromReference(ctx, tx, ref, r)
			if err != nil {
				return err
			}
		case err != nil:
			return err
		case c.Channel == identity.ChannelLetter && c.Status == identity.StatusPending:
			if err := s.renewLetterCitizen(ctx, tx, c, r); err != nil {
				return err
			}
		case c.Status == identity.StatusActive:
			// Registered and active: a reset letter. Its code, used at
			// /activate, sets a new password; level and contacts stay as
			// they are (the activation checks the registered email and
			// mobile), and the citizen hears of the request.
			if err := s.notifyCitizen(ctx, tx, c, "letter.reset_requested", "letter_reset:"+store.NewID(),
				map[string]any{"Document": doc.Masked()}); err != nil {
				return err
			}
			if err := audit.Append(ctx, tx, &audit.Event{Actor: "anonymous", Action: "password.reset_letter",
				Subject: "citizen:" + c.ID, Source: r.Source, Details: map[string]string{"document": doc.Masked()}}); err != nil {
				return err
			}
		default:
			// Registered already and not active (waiting for an office's
			// code, suspended): nothing changes; the citizen hears of it.
			refused = "already registered"
			if err := s.notifyCitizen(ctx, tx, c, "letter.already_registered", "letter_refused:"+store.NewID(),
				map[string]any{"Document": doc.Masked()}); err != nil {
				return err
			}
			return audit.Append(ctx, tx, &audit.Event{Actor: "anonymous", Action: "letter.request", Subject: "citizen:" + c.ID,
				Source: r.Source, Outcome: audit.Denied, Details: map[string]string{"document": doc.Masked(), "reason": refused}})
		}
		return s.queueLetter(ctx, tx, c, ref, r.Source)
	})
	if f, dup := store.IsDuplicate(err); dup {
		deny("duplicate " + f)
		return nil
	}
	return err
}

// registerFromReference creates the citizen a reference record describes,
// with the contact data typed, at level basic.
func (s *Service) registerFromReference(ctx context.Context, tx store.Tx, ref *store.Reference, r LetterRequest) (*identity.Citizen, error) {
	c := &identity.Citizen{ID: store.NewID(), Document: ref.Document, DocValidity: ref.DocValidity,
		DocPermanent: ref.DocPermanent, SupportNumber: ref.SupportNumber, GivenName: ref.GivenName,
		FirstSurname: ref.FirstSurname, SecondSurname: ref.SecondSurname, BirthDate: ref.BirthDate,
		Nationality: ref.Nationality, Email: r.Email, Mobile: r.Mobile, Language: r.Language,
		Level: identity.LevelBasic, Channel: identity.ChannelLetter, Status: identity.StatusPending}
	if err := c.Normalise(s.opts.Now()); err != nil {
		// The registry was checked at import; a record that no longer
		// passes (a rule changed) is the operator's to fix.
		return nil, fmt.Errorf("reference record %s does not make a valid citizen: %w", ref.Document.Masked(), err)
	}
	if err := tx.CreateCitizen(ctx, c); err != nil {
		return nil, err
	}
	return c, audit.Append(ctx, tx, &audit.Event{Actor: "anonymous", Action: "citizen.register", Subject: "citizen:" + c.ID,
		Source: r.Source, Details: map[string]string{"document": c.Document.Masked(), "level": string(c.Level),
			"channel": string(c.Channel)}})
}

// renewLetterCitizen takes the contact data of a new request from a
// citizen still waiting for a letter; the earlier contacts hear of it.
func (s *Service) renewLetterCitizen(ctx context.Context, tx store.Tx, c *identity.Citizen, r LetterRequest) error {
	if err := s.notifyCitizen(ctx, tx, c, "letter.new_requested", "letter_renewed:"+store.NewID(),
		map[string]any{"Document": c.Document.Masked()}); err != nil {
		return err
	}
	changed := map[string]string{}
	if c.Email != r.Email {
		changed["email"] = secure.MaskEmail(r.Email)
	}
	if c.Mobile != r.Mobile {
		changed["mobile"] = secure.MaskPhone(r.Mobile)
	}
	c.Email, c.Mobile, c.Language = r.Email, r.Mobile, r.Language
	if err := tx.UpdateCitizen(ctx, c); err != nil {
		return err
	}
	if len(changed) == 0 {
		return nil
	}
	return audit.Append(ctx, tx, &audit.Event{Actor: "anonymous", Action: "citizen.correct", Subject: "citizen:" + c.ID,
		Source: r.Source, Details: changed})
}

// notifyCitizen sends a notice to the citizen's email and mobile.
func (s *Service) notifyCitizen(ctx context.Context, tx store.Tx, c *identity.Citizen, tmpl, key string, data map[string]any) error {
	return s.notify.QueueBoth(ctx, tx, c.Email, c.Mobile, notify.Request{Template: tmpl, Language: c.Language,
		Data: data, EventKey: key})
}

// letterAddress is the postal address as printed.
func letterAddress(ref *store.Reference) []string {
	lines := []string{ref.AddressLine1}
	if ref.AddressLine2 != "" {
		lines = append(lines, ref.AddressLine2)
	}
	lines = append(lines, ref.PostalCode+" "+ref.Municipality)
	if !strings.EqualFold(ref.Province, ref.Municipality) {
		lines = append(lines, ref.Province)
	}
	return lines
}

// queueLetter issues a fresh activation code (the earlier one dies),
// supersedes the citizen's unprinted letters and queues a new one with the
// code sealed.
func (s *Service) queueLetter(ctx context.Context, tx store.Tx, c *identity.Citizen, ref *store.Reference, source string) error {
	now := s.opts.Now().UTC()
	superseded, err := tx.SupersedeLetters(ctx, c.ID, now)
	if err != nil {
		return err
	}
	code, exp, err := s.codes.Issue(ctx, tx, s.letterSpec(), c.ID)
	if err != nil {
		return err
	}
	l := &store.Letter{ID: store.NewID(), CitizenID: c.ID, Language: c.Language,
		Recipient: strings.Join(strings.Fields(c.GivenName+" "+c.FirstSurname+" "+c.SecondSurname), " "),
		Address:   letterAddress(ref), ExpiresAt: exp, CreatedAt: now}
	l.CodeSealed, err = s.letters.opts.Keyring.Seal([]byte(code),
		store.SealedValue{Table: "letters", Column: "code_sealed", RowID: l.ID}.AAD())
	if err != nil {
		return err
	}
	if err := tx.CreateLetter(ctx, l); err != nil {
		return err
	}
	if err := tx.DeleteCounter(ctx, "pwd:doc:"+c.Document.Number); err != nil {
		return err
	}
	if err := audit.Append(ctx, tx, &audit.Event{Actor: "anonymous", Action: "code.issue", Subject: "citizen:" + c.ID,
		Source: source, Details: map[string]string{"purpose": "activation", "channel": "letter",
			"expires": exp.Format(time.DateOnly)}}); err != nil {
		return err
	}
	return audit.Append(ctx, tx, &audit.Event{Actor: "anonymous", Action: "letter.request", Subject: "citizen:" + c.ID,
		Source: source, Details: map[string]string{"document": c.Document.Masked(), "letter": l.ID,
			"superseded": fmt.Sprint(superseded)}})
}

// UpgradeToAdvanced raises a citizen registered at level basic (by
// letter) to advanced after an officer checked their identity document in
// person; the record then belongs to the officer's office. Audited,
// refused (and audited) without the check.
func (s *Service) UpgradeToAdvanced(ctx context.Context, a Actor, id string, version int64, check DocumentCheck) (*identity.Citizen, error) {
	if !check.Checked || strings.TrimSpace(check.Shown) == "" {
		ev := a.event("citizen.upgrade", "citizen:"+id, map[string]string{"reason": "document not checked"})
		ev.Outcome = audit.Denied
		_ = audit.New(s.store, s.opts.Now).Record(ctx, *ev)
		return nil, ErrDocNotChecked
	}
	var out *identity.Citizen
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		c, err := tx.CitizenByID(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		switch {
		case c.Status == identity.StatusDeregistered:
			return ErrDeregistered
		case version != 0 && c.Version != version:
			return ErrStale
		case c.Level != identity.LevelBasic:
			return ErrAlreadyAdvanced
		}
		c.Level, c.OfficeID = identity.LevelAdvanced, a.Office.ID
		if err := tx.UpdateCitizen(ctx, c); err != nil {
			return err
		}
		out = c
		return audit.Append(ctx, tx, a.event("citizen.upgrade", "citizen:"+c.ID, map[string]string{
			"document": c.Document.Masked(), "document_shown": check.Shown, "level": string(c.Level)}))
	})
	if errors.Is(err, store.ErrStale) {
		return nil, ErrStale
	}
	return out, err
}
