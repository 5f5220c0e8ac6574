package reference

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/store"
)

// Columns are the CSV header's names. Order is free; the required ones
// must be present, and no other name is allowed.
var Columns = []string{"document", "doc_validity", "doc_permanent", "support_number", "given_name",
	"first_surname", "second_surname", "birth_date", "nationality", "address_line1", "address_line2", "postal_code",
	"municipality", "province"}

var requiredColumns = []string{"document", "given_name", "first_surname", "birth_date", "address_line1",
	"postal_code", "municipality", "province"}

// Limits.
const (
	MaxRows          = 1_000_000
	maxAddressRunes  = 120
	maxFileLineBytes = 4096
)

// Existing says what an import does with a document already in the
// registry.
type Existing string

const (
	ExistingReject Existing = "reject" // the row is rejected (the default)
	ExistingUpdate Existing = "update" // the row replaces the record
)

// FileError is a problem with the whole file (encoding, header): nothing
// was read.
type FileError struct{ Msg string }

func (e *FileError) Error() string { return e.Msg }

// Rejected is one row the import refused.
type Rejected struct {
	Line     int    // 1-based line in the file (the header is line 1)
	Document string // masked, when it parsed
	Fields   []problem.Field
}

// Report is what an import did, or would have done.
type Report struct {
	ImportID string
	Rows     int // data rows read
	Inserted int
	Updated  int
	Rejected []Rejected
	Written  bool // false when any row was rejected or on a dry run
}

// Parse reads a CSV file and checks every row, without touching the store.
// It returns the good records (with their line numbers) and the rejected
// rows; a *FileError when the file as a whole cannot be read.
func Parse(data []byte, today identity.Date) ([]Row, []Rejected, error) {
	data, err := decode(data)
	if err != nil {
		return nil, nil, err
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma = delimiter(data)
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, &FileError{"the file is empty: the first line must be the header (" + strings.Join(requiredColumns, ",") + ")"}
	} else if err != nil {
		return nil, nil, &FileError{fmt.Sprintf("line 1: %v", unwrapCSV(err))}
	}
	idx, err := columns(header)
	if err != nil {
		return nil, nil, err
	}
	var (
		rows     []Row
		rejected []Rejected
		seen     = map[string]int{}
	)
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line := 0
		if err != nil {
			// FieldPos panics after a failed Read: the error says where.
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.StartLine
			}
			rejected = append(rejected, Rejected{Line: line, Fields: []problem.Field{{Name: "row", MsgID: "reference.csv_syntax"}}})
			if errors.As(err, &pe) && pe.Err == csv.ErrQuote || errors.As(err, &pe) && pe.Err == csv.ErrBareQuote {
				// The reader cannot find the next row reliably after a broken quote.
				return nil, rejected, nil
			}
			continue
		}
		line, _ = r.FieldPos(0)
		if len(rows)+len(rejected) >= MaxRows {
			return nil, nil, &FileError{fmt.Sprintf("more than %d rows: split the file", MaxRows)}
		}
		if len(rec) != len(header) {
			rejected = append(rejected, Rejected{Line: line, Fields: []problem.Field{{Name: "row", MsgID: "reference.column_count",
				Args: map[string]any{"Want": len(header), "Got": len(rec)}}}})
			continue
		}
		get := func(name string) string {
			if i, ok := idx[name]; ok {
				return rec[i]
			}
			return ""
		}
		ref, fields := check(get, today)
		rj := Rejected{Line: line, Fields: fields}
		if !ref.Document.IsZero() {
			rj.Document = ref.Document.Masked()
			if first, dup := seen[ref.Document.Number]; dup {
				rj.Fields = append(rj.Fields, problem.Field{Name: "document", MsgID: "reference.duplicate_in_file",
					Args: map[string]any{"Line": first}})
			} else {
				seen[ref.Document.Number] = line
			}
		}
		if len(rj.Fields) > 0 {
			rejected = append(rejected, rj)
			continue
		}
		rows = append(rows, Row{Line: line, Ref: ref})
	}
	if len(rows)+len(rejected) == 0 {
		return nil, nil, &FileError{"the file has a header but no rows"}
	}
	return rows, rejected, nil
}

// Row is a checked record and the line it came from.
type Row struct {
	Line int
	Ref  store.Reference
}

func unwrapCSV(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// decode returns UTF-8 text without a byte order mark, or a FileError
// naming the encoding the file seems to be in.
func decode(b []byte) ([]byte, error) {
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		b = b[3:]
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}), bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		return nil, &FileError{"the file is UTF-16: save it as UTF-8 (in a spreadsheet: CSV UTF-8)"}
	}
	if bytes.IndexByte(b, 0) >= 0 {
		return nil, &FileError{"the file holds NUL bytes (UTF-16 or a binary file?): save it as UTF-8 CSV"}
	}
	if !utf8.Valid(b) {
		line := 1 + bytes.Count(b[:firstInvalid(b)], []byte{'\n'})
		return nil, &FileError{fmt.Sprintf("line %d: the file is not UTF-8 (Latin-1 or Windows-1252?): save it as UTF-8 (in a spreadsheet: CSV UTF-8)", line)}
	}
	return b, nil
}

func firstInvalid(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// delimiter picks ';' for files whose header uses it (spreadsheets in
// Spanish and Catalan locales save CSV that way), else ','.
func delimiter(b []byte) rune {
	first, _, _ := bytes.Cut(b, []byte{'\n'})
	if bytes.Count(first, []byte{';'}) > bytes.Count(first, []byte{','}) {
		return ';'
	}
	return ','
}

func columns(header []string) (map[string]int, error) {
	idx := map[string]int{}
	known := map[string]bool{}
	for _, c := range Columns {
		known[c] = true
	}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if !known[h] {
			return nil, &FileError{fmt.Sprintf("line 1: unknown column %q (the columns are %s)", header[i], strings.Join(Columns, ","))}
		}
		if _, dup := idx[h]; dup {
			return nil, &FileError{fmt.Sprintf("line 1: column %q appears twice", h)}
		}
		idx[h] = i
	}
	var missing []string
	for _, c := range requiredColumns {
		if _, ok := idx[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, &FileError{"line 1: missing column(s) " + strings.Join(missing, ", ") + " (the header names the columns)"}
	}
	return idx, nil
}

// check cleans and checks one row. Names, dates and the document are
// checked as a registration form checks them (identity.Citizen.Normalise);
// an expired DNI is kept, since the registry records people, not valid
// documents (a letter request with it is refused later).
func check(get func(string) string, today identity.Date) (store.Reference, []problem.Field) {
	var fields []problem.Field
	c := identity.Citizen{
		Document: identity.Document{Number: get("document")}, SupportNumber: get("support_number"),
		Nationality: get("nationality"), GivenName: get("given_name"), FirstSurname: get("first_surname"), SecondSurname: get("second_surname"),
		// Contact data is not the registry's: fill valid values so only what the row holds is checked.
		Email: "registry@example.org", Mobile: "+34600000000", Level: identity.LevelBasic, Channel: identity.ChannelLetter,
	}
	if strings.TrimSpace(get("document")) == "" {
		fields = append(fields, problem.Field{Name: "document", MsgID: "document.empty"})
	}
	switch strings.ToLower(strings.TrimSpace(get("doc_permanent"))) {
	case "", "0", "no", "false", "n":
	case "1", "yes", "true", "y", "si", "sí", "s":
		c.DocPermanent = true
	default:
		fields = append(fields, problem.Field{Name: "doc_permanent", MsgID: "reference.doc_permanent"})
	}
	dates := []struct {
		name string
		to   *identity.Date
	}{{"doc_validity", &c.DocValidity}, {"birth_date", &c.BirthDate}}
	for _, d := range dates {
		v := strings.TrimSpace(get(d.name))
		if v == "" {
			continue // Normalise says "required" where it is
		}
		pd, err := identity.ParseDate(v)
		if err != nil {
			fields = append(fields, problem.Field{Name: d.name, MsgID: d.name + ".invalid"})
			*d.to = identity.Date{Year: 1} // not zero, not valid: Normalise skips "required"
			continue
		}
		*d.to = pd
	}
	now := time.Date(today.Year, today.Month, today.Day, 12, 0, 0, 0, time.UTC)
	if err := c.Normalise(now); err != nil {
		p, _ := problem.As(err)
		for _, f := range p.Fields {
			if f.MsgID == "doc_validity.expired" || (f.Name == "document" && strings.TrimSpace(get("document")) == "") {
				continue
			}
			if (f.Name == "doc_validity" || f.Name == "birth_date") && hasField(fields, f.Name) {
				continue
			}
			fields = append(fields, f)
		}
	}
	ref := store.Reference{Document: c.Document, DocValidity: c.DocValidity, DocPermanent: c.DocPermanent,
		SupportNumber: c.SupportNumber, GivenName: c.GivenName, FirstSurname: c.FirstSurname,
		SecondSurname: c.SecondSurname, BirthDate: c.BirthDate, Nationality: c.Nationality}
	if hasField(fields, "document") {
		ref.Document = identity.Document{}
	}
	if ref.Document.Type != identity.DNI {
		ref.DocValidity, ref.DocPermanent = identity.Date{}, false
	}
	if ref.Document.Type != identity.NIE {
		ref.SupportNumber = ""
	}
	text := []struct {
		name     string
		to       *string
		required bool
	}{
		{"address_line1", &ref.AddressLine1, true}, {"address_line2", &ref.AddressLine2, false},
		{"municipality", &ref.Municipality, true}, {"province", &ref.Province, true},
	}
	for _, t := range text {
		v, msg := checkText(get(t.name), t.required)
		if msg != "" {
			fields = append(fields, problem.Field{Name: t.name, MsgID: msg})
		}
		*t.to = v
	}
	pc := strings.TrimSpace(get("postal_code"))
	if len(pc) == 4 && isDigits(pc) {
		pc = "0" + pc // spreadsheets drop the leading zero of 08001
	}
	if !validPostalCode(pc) {
		fields = append(fields, problem.Field{Name: "postal_code", MsgID: "reference.postal_code"})
	}
	ref.PostalCode = pc
	order := map[string]int{}
	for i, c := range Columns {
		order[c] = i
	}
	sort.SliceStable(fields, func(i, j int) bool { return order[fields[i].Name] < order[fields[j].Name] })
	return ref, fields
}

func hasField(fs []problem.Field, name string) bool {
	for _, f := range fs {
		if f.Name == name {
			return true
		}
	}
	return false
}

// checkText cleans an address line: NFC, one space between words, no
// control characters, at most maxAddressRunes.
func checkText(s string, required bool) (string, string) {
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", "reference.text_invalid"
		}
	}
	c := strings.Join(strings.Fields(norm.NFC.String(s)), " ")
	switch {
	case c == "" && required:
		return "", "reference.required"
	case utf8.RuneCountInString(c) > maxAddressRunes:
		return "", "reference.text_long"
	}
	return c, ""
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// validPostalCode accepts a Spanish postal code: 5 digits whose first two
// are a province code, 01 to 52.
func validPostalCode(pc string) bool {
	if len(pc) != 5 || !isDigits(pc) {
		return false
	}
	p := (int(pc[0]-'0'))*10 + int(pc[1]-'0')
	return p >= 1 && p <= 52
}

// Options say how to import.
type Options struct {
	Existing Existing // what to do with documents already in the registry
	DryRun   bool     // check only
	ImportID string   // names the import in the records and the audit trail
	Actor    string   // who imports, for the audit trail ("cli:<user>")
	Source   string   // from where ("cli")
	File     string   // the file's name, for the audit trail
	Now      time.Time
}

// Import checks data and, when no row is rejected and it is not a dry
// run, writes every row in one transaction with its audit event. Rows
// whose document is already in the registry are updated or rejected as
// o.Existing says. A refused import is audited too.
func Import(ctx context.Context, s store.Store, data []byte, o Options) (*Report, error) {
	rep, err := importRows(ctx, s, data, o)
	ev := audit.Event{Actor: o.Actor, Action: "registry.import", Subject: "registry:" + o.ImportID, Source: o.Source,
		Details: map[string]string{"file": o.File, "existing": string(o.Existing)}}
	switch {
	case err != nil:
		ev.Outcome, ev.Details["reason"] = audit.Denied, err.Error()
	case o.DryRun:
		return rep, nil
	case !rep.Written:
		ev.Outcome = audit.Denied
		ev.Details["rows"], ev.Details["rejected"] = fmt.Sprint(rep.Rows), fmt.Sprint(len(rep.Rejected))
	default:
		return rep, nil // audited in the import's own transaction
	}
	_ = audit.New(s, func() time.Time { return o.Now }).Record(ctx, ev)
	return rep, err
}

func importRows(ctx context.Context, s store.Store, data []byte, o Options) (*Report, error) {
	existing, importID := o.Existing, o.ImportID
	rows, rejected, err := Parse(data, identity.DateOf(o.Now))
	if err != nil {
		return nil, err
	}
	rep := &Report{ImportID: importID, Rows: len(rows) + len(rejected), Rejected: rejected}
	// Look up existing records first, so a rejection for "already in the
	// registry" is reported with the rest before anything is written.
	var todo []Row
	for _, r := range rows {
		_, err := s.ReferenceByDocument(ctx, r.Ref.Document.Number)
		switch {
		case errors.Is(err, store.ErrNotFound):
			todo = append(todo, r)
		case err != nil:
			return nil, err
		case existing == ExistingUpdate:
			todo = append(todo, r)
		default:
			rep.Rejected = append(rep.Rejected, Rejected{Line: r.Line, Document: r.Ref.Document.Masked(),
				Fields: []problem.Field{{Name: "document", MsgID: "reference.exists"}}})
		}
	}
	sortRejected(rep.Rejected)
	if len(rep.Rejected) > 0 || o.DryRun {
		for _, r := range todo {
			if _, err := s.ReferenceByDocument(ctx, r.Ref.Document.Number); err == nil {
				rep.Updated++
			} else {
				rep.Inserted++
			}
		}
		return rep, nil
	}
	err = s.InTx(ctx, func(tx store.Tx) error {
		rep.Inserted, rep.Updated = 0, 0
		for i := range todo {
			ref := todo[i].Ref
			ref.ImportID = importID
			if existing == ExistingReject {
				// Another import may have added it since the check above.
				if _, err := tx.ReferenceByDocument(ctx, ref.Document.Number); err == nil {
					return fmt.Errorf("line %d: document %s was added to the registry while this import ran: %w",
						todo[i].Line, ref.Document.Masked(), store.ErrStale)
				}
			}
			inserted, err := tx.PutReference(ctx, &ref)
			if err != nil {
				return fmt.Errorf("line %d: %w", todo[i].Line, err)
			}
			if inserted {
				rep.Inserted++
			} else {
				rep.Updated++
			}
		}
		return audit.Append(ctx, tx, &audit.Event{At: o.Now.UTC(), Actor: o.Actor, Action: "registry.import", Subject: "registry:" + importID,
			Source: o.Source, Details: map[string]string{"file": o.File, "existing": string(existing),
				"rows": fmt.Sprint(rep.Rows), "inserted": fmt.Sprint(rep.Inserted), "updated": fmt.Sprint(rep.Updated)}})
	})
	if err != nil {
		return nil, err
	}
	rep.Written = true
	return rep, nil
}

func sortRejected(r []Rejected) {
	sort.SliceStable(r, func(i, j int) bool { return r[i].Line < r[j].Line })
}
