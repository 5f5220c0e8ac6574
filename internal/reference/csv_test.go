package reference_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/reference"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/store/sqlstore/sqltest"
)

var now = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

const header = "document,doc_validity,doc_permanent,support_number,given_name,first_surname,second_surname,birth_date,address_line1,address_line2,postal_code,municipality,province,nationality\n"

const good = header +
	"12345678Z,2031-06-30,,,Núria,Ibáñez,Puig,1980-02-29,\"Carrer de la Pau 3, 2n 1a\",,08001,Barcelona,Barcelona,\n" +
	"X1234567L,,,E12345678,Marcel·lí,O'Neill,,05/07/1975,Plaça Major 1,Escala B,8002,Barcelona,Barcelona,IT\n" +
	"11111111H,1999-03-10,yes,,Jordi,Pujol,,1960-01-01,Rambla 5,,17001,Girona,Girona,\n"

func opts(o reference.Options) reference.Options {
	o.Actor, o.Source, o.Now, o.ImportID, o.File = "cli:test", "cli", now, "imp-test", "people.csv"
	if o.Existing == "" {
		o.Existing = reference.ExistingReject
	}
	return o
}

func fieldIDs(r reference.Rejected) string {
	var s []string
	for _, f := range r.Fields {
		s = append(s, f.Name+"="+f.MsgID)
	}
	return strings.Join(s, " ")
}

func TestParseRows(t *testing.T) {
	today := identity.DateOf(now)
	rows, rej, err := reference.Parse([]byte("\xEF\xBB\xBF"+good), today)
	if err != nil || len(rej) != 0 || len(rows) != 3 {
		t.Fatalf("Parse(good with BOM) = %d rows, %+v, %v", len(rows), rej, err)
	}
	nie := rows[1].Ref
	if nie.Document.Type != identity.NIE || nie.SupportNumber != "E12345678" || nie.PostalCode != "08002" ||
		nie.BirthDate != (identity.Date{Year: 1975, Month: 7, Day: 5}) || nie.AddressLine2 != "Escala B" || rows[1].Line != 3 {
		t.Errorf("NIE row = %+v (line %d)", nie, rows[1].Line)
	}
	if !rows[2].Ref.DocPermanent || rows[0].Ref.AddressLine1 != "Carrer de la Pau 3, 2n 1a" {
		t.Errorf("rows = %+v", rows)
	}
	// Semicolons, as Spanish spreadsheets save CSV.
	semi := strings.ReplaceAll(strings.ReplaceAll(header, ",", ";"), "\n", "") + "\n" +
		"12345678Z;2031-06-30;;;Núria;Ibáñez;;1980-02-29;Carrer de la Pau 3, 2n;;08001;Barcelona;Barcelona;ES\n"
	if rows, rej, err := reference.Parse([]byte(semi), today); err != nil || len(rej) != 0 || len(rows) != 1 {
		t.Errorf("Parse(semicolons) = %+v, %+v, %v", rows, rej, err)
	}
}

func TestParseRejectsBadRows(t *testing.T) {
	bad := header +
		"12345678A,2031-06-30,,,Ana,Roca,,1980-01-01,Carrer 1,,08001,Barcelona,Barcelona,\n" + // line 2: wrong letter
		"87654321X,,,,Ana,Roca,,1980-13-01,Carrer 1,,08001,Barcelona,Barcelona,\n" + // 3: no validity, bad birth date
		"X1234567L,,,,Ana,,,1980-01-01,,,99999,,Barcelona,IT\n" + // 4: no support number, surname, address, postal code, municipality
		"12345678Z,2031-06-30,,,Ana,Roca,,1980-01-01,Carrer 1,,08001,Barcelona,Barcelona,\n" + // 5: valid
		"12345678Z,2031-06-30,,,Ana,Roca,,1980-01-01,Carrer 1,,08001,Barcelona,Barcelona,\n" + // 6: duplicate of line 5
		"00000000T,2031-06-30,maybe,,Ana,Roca,,1980-01-01,Carrer 1,,08001,Barcelona,\n" + // 7: too few columns
		"00000000T,2031-06-30,maybe,,Ana2,Roca,,1980-01-01,Carrer 1,,08001,Barcelona,Barcelona,\n" // 8: doc_permanent, name
	rows, rej, err := reference.Parse([]byte(bad), identity.DateOf(now))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Line != 5 {
		t.Errorf("good rows = %+v, want line 5 alone", rows)
	}
	want := map[int]string{
		2: "document=document.letter",
		3: "doc_validity=doc_validity.required birth_date=birth_date.invalid",
		4: "support_number=support_number.required first_surname=name.required address_line1=reference.required postal_code=reference.postal_code municipality=reference.required",
		6: "document=reference.duplicate_in_file",
		7: "row=reference.column_count",
		8: "doc_permanent=reference.doc_permanent given_name=name.invalid",
	}
	if len(rej) != len(want) {
		t.Errorf("rejected %d rows, want %d: %+v", len(rej), len(want), rej)
	}
	for _, r := range rej {
		if got := fieldIDs(r); got != want[r.Line] {
			t.Errorf("line %d: %q, want %q", r.Line, got, want[r.Line])
		}
	}
}

func TestParseFileErrors(t *testing.T) {
	for name, tc := range map[string]struct{ data, want string }{
		"latin1":  {header + "12345678Z,2031-06-30,,,N\xfaria,Ib\xe1\xf1ez,,1980-02-29,Carrer 1,,08001,Barcelona,Barcelona,\n", "line 2: the file is not UTF-8"},
		"utf16":   {"\xff\xfed\x00o\x00c\x00", "UTF-16"},
		"empty":   {"", "the file is empty"},
		"nobody":  {header, "no rows"},
		"unknown": {"document,name\n", `unknown column "name"`},
		"missing": {"document,given_name\n", "missing column(s) first_surname, birth_date"},
		"twice":   {"document,document\n", "appears twice"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := reference.Parse([]byte(tc.data), identity.DateOf(now))
			var fe *reference.FileError
			if !errors.As(err, &fe) || !strings.Contains(fe.Msg, tc.want) {
				t.Errorf("Parse = %v, want a FileError with %q", err, tc.want)
			}
		})
	}
}

func TestImport(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		s := sqltest.Open(t, driver)
		rep, err := reference.Import(ctx, s, []byte(good), opts(reference.Options{DryRun: true}))
		if err != nil || rep.Written || rep.Inserted != 3 {
			t.Fatalf("dry run = %+v, %v", rep, err)
		}
		if n, _ := s.CountReferences(ctx); n != 0 {
			t.Fatalf("a dry run wrote %d records", n)
		}
		rep, err = reference.Import(ctx, s, []byte(good), opts(reference.Options{}))
		if err != nil || !rep.Written || rep.Inserted != 3 || rep.Updated != 0 {
			t.Fatalf("import = %+v, %v", rep, err)
		}
		// Reference records register nobody.
		if n, _ := s.CountCitizens(ctx); n != 0 {
			t.Errorf("an import created %d citizens", n)
		}

		// The same file again: every row already exists. Rejected, nothing written.
		changed := strings.Replace(good, "Plaça Major 1", "Plaça Nova 9", 1) +
			"00000000T,2031-06-30,,,Ana,Roca,,1980-01-01,Carrer 1,,08001,Barcelona,Barcelona,\n"
		rep, err = reference.Import(ctx, s, []byte(changed), opts(reference.Options{}))
		if err != nil || rep.Written || len(rep.Rejected) != 3 || rep.Rejected[0].Fields[0].MsgID != "reference.exists" {
			t.Fatalf("re-import = %+v, %v; want 3 rows rejected as existing", rep, err)
		}
		if n, _ := s.CountReferences(ctx); n != 3 {
			t.Errorf("a refused import changed the registry: %d records", n)
		}
		// With --existing=update the same file updates and adds.
		rep, err = reference.Import(ctx, s, []byte(changed), opts(reference.Options{Existing: reference.ExistingUpdate}))
		if err != nil || !rep.Written || rep.Inserted != 1 || rep.Updated != 3 {
			t.Fatalf("update import = %+v, %v", rep, err)
		}
		r, err := s.ReferenceByDocument(ctx, "X1234567L")
		if err != nil || r.AddressLine1 != "Plaça Nova 9" || r.Version != 2 {
			t.Errorf("updated record = %+v, %v", r, err)
		}

		// One bad row stops the whole file.
		bad := header + "22222222J,2031-06-30,,,Ana,Roca,,1980-01-01,Carrer 1,,08001,Barcelona,Barcelona,\n" +
			"33333333P,2031-06-30,,,Ana,Roca,,1980-01-01,Carrer 1,,00001,Barcelona,Barcelona,\n"
		rep, err = reference.Import(ctx, s, []byte(bad), opts(reference.Options{}))
		if err != nil || rep.Written || len(rep.Rejected) != 1 || rep.Rejected[0].Line != 3 {
			t.Fatalf("bad import = %+v, %v", rep, err)
		}
		if _, err := s.ReferenceByDocument(ctx, "22222222J"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a good row of a refused file was written: %v", err)
		}
		evs, err := s.ListAudit(ctx, store.AuditFilter{Action: "registry.import"})
		if err != nil || len(evs) != 4 || evs[0].Outcome != "denied" || evs[0].Details["rejected"] != "1" ||
			evs[1].Outcome != "ok" || evs[1].Details["updated"] != "3" {
			t.Errorf("audit = %+v, %v; want 4 import events, the last refused", evs, err)
		}
	})
}
