package identity

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/problem"
)

func TestNormaliseMobile(t *testing.T) {
	ok := map[string]string{
		"+34 612 345 678":     "+34612345678",
		"0034612345678":       "+34612345678",
		"612345678":           "+34612345678",
		"612-34-56-78":        "+34612345678",
		"(+34) 712.345.678":   "+34712345678",
		"+33612345678":        "+33612345678",
		"0033 6 12 34 56 78":  "+33612345678",
		"+44 (7700) 900123":   "+447700900123",
		"+1 415 555 2671":     "+14155552671",
		" +34\u00a0612345678": "+34612345678",
	}
	for in, want := range ok {
		got, err := NormaliseMobile(in)
		if err != nil || got != want {
			t.Errorf("NormaliseMobile(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := []string{
		"", "912345678", "+34912345678", "+34 12345", "+3461234567", "+346123456789",
		"12345", "+0612345678", "00", "+", "+1234567", "+1234567890123456",
		"34612345678", "6123456789", "+34 612 345 678 ext 1", "+34+612345678",
		"612345678a", "６１２３４５６７８", "+34 612 345 67x",
	}
	for _, in := range bad {
		got, err := NormaliseMobile(in)
		if err == nil {
			t.Errorf("NormaliseMobile(%q) = %q, want error", in, got)
			continue
		}
		if name, msg := fieldMsg(t, err); name != "mobile" || msg != "mobile.format" {
			t.Errorf("NormaliseMobile(%q): %s %s", in, name, msg)
		}
	}
}

func FuzzNormaliseMobile(f *testing.F) {
	for _, s := range []string{"+34 612 345 678", "0034612345678", "612345678", "+33612345678", "912345678", "+34 12345", "00+", "(((", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := NormaliseMobile(s)
		if err != nil {
			if _, ok := problem.As(err); !ok {
				t.Fatalf("error is not a problem: %v", err)
			}
			return
		}
		if len(m) < 9 || len(m) > 16 || m[0] != '+' || m[1] == '0' {
			t.Fatalf("NormaliseMobile(%q) = %q is not E.164", s, m)
		}
		again, err := NormaliseMobile(m)
		if err != nil || again != m {
			t.Fatalf("NormaliseMobile(%q) = %q, %v; not idempotent", m, again, err)
		}
	})
}

func TestNormaliseEmail(t *testing.T) {
	ok := map[string]string{
		"ana@example.org":             "ana@example.org",
		"  Ana.Puig@Example.CAT ":     "Ana.Puig@example.cat",
		"joan+clau@correu.gencat.cat": "joan+clau@correu.gencat.cat",
		"maria@correo.es":             "maria@correo.es",
		"josé@exemple.cat":            "josé@exemple.cat",
		"x@ÀMBIT.cat":                 "x@àmbit.cat",
	}
	for in, want := range ok {
		got, err := NormaliseEmail(in)
		if err != nil || got != want {
			t.Errorf("NormaliseEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := []string{
		"", "ana", "ana@", "@example.org", "ana@localhost", "Ana <ana@example.org>", "<ana@example.org>",
		"ana@example.org (Ana)", "ana@@example.org", "ana@example..org", "ana@.example.org",
		"ana@example.org.", "ana@-example.org", "ana@[192.168.0.1]", "ana example@example.org",
		"ana@example.org, joan@example.org", strings.Repeat("a", 65) + "@example.org",
		"a@" + strings.Repeat("b", 250) + ".cat", "ana@exam_ple.org", "\"ana maria\"@example.org",
	}
	for _, in := range bad {
		got, err := NormaliseEmail(in)
		if err == nil {
			t.Errorf("NormaliseEmail(%q) = %q, want error", in, got)
			continue
		}
		if name, msg := fieldMsg(t, err); name != "email" || msg != "email.format" {
			t.Errorf("NormaliseEmail(%q): %s %s", in, name, msg)
		}
	}
}

var testNow = time.Date(2025, time.June, 15, 10, 0, 0, 0, time.UTC)

func validCitizen() Citizen {
	return Citizen{
		Document:      Document{Number: " 12.345.678-z"},
		DocValidity:   Date{2030, time.January, 1},
		GivenName:     "  Maria   dels Àngels ",
		FirstSurname:  "Puig",
		SecondSurname: "i Sabaté",
		BirthDate:     Date{1980, time.May, 2},
		Email:         "Maria@Exemple.CAT",
		Mobile:        "612 34 56 78",
		Level:         LevelAdvanced,
		Channel:       ChannelOffice,
	}
}

func fieldsOf(t *testing.T, err error) [][2]string {
	t.Helper()
	if err == nil {
		return nil
	}
	p, ok := problem.As(err)
	if !ok {
		t.Fatalf("error %v is not a problem", err)
	}
	if p.Status != 422 || p.MsgID != "input.invalid" {
		t.Fatalf("problem %+v", p)
	}
	var out [][2]string
	for _, f := range p.Fields {
		out = append(out, [2]string{f.Name, f.MsgID})
	}
	return out
}

func TestCitizenNormaliseValid(t *testing.T) {
	c := validCitizen()
	if err := c.Normalise(testNow); err != nil {
		t.Fatalf("Normalise: %v", err)
	}
	want := validCitizen()
	want.Document = Document{Type: DNI, Number: "12345678Z"}
	want.GivenName = "Maria dels Àngels"
	want.Nationality = "ES"
	want.Email = "Maria@exemple.cat"
	want.Mobile = "+34612345678"
	want.Language = "ca"
	want.Status = StatusPending
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
	// Normalising twice changes nothing.
	again := c
	if err := again.Normalise(testNow); err != nil || !reflect.DeepEqual(again, c) {
		t.Errorf("second Normalise: %v, %+v", err, again)
	}

	nie := Citizen{
		Document:      Document{Number: "x1234567l"},
		SupportNumber: " e 1234 5678 ",
		GivenName:     "Oleksandr",
		FirstSurname:  "Shevchenko",
		BirthDate:     Date{1990, time.December, 31},
		Nationality:   "ua",
		Email:         "oleks@example.com",
		Mobile:        "+380 50 123 4567",
		Language:      "EN",
		Level:         LevelBasic,
		Channel:       ChannelLetter,
		Status:        StatusActive,
	}
	if err := nie.Normalise(testNow); err != nil {
		t.Fatalf("NIE Normalise: %v", err)
	}
	if nie.Document != (Document{NIE, "X1234567L"}) || nie.SupportNumber != "E12345678" ||
		nie.Nationality != "UA" || nie.Language != "en" || nie.Mobile != "+380501234567" || nie.Status != StatusActive {
		t.Errorf("NIE normalised to %+v", nie)
	}
}

func TestCitizenNormaliseNames(t *testing.T) {
	good := []string{
		"Núria", "Marcel·lí", "O'Connor", "D’Alessandro", "Jean-Luc", "Mª Carmen", "St. John",
		"Nguyễn", "Владимир", "محمد", "李", "Jose\u0301", "Ægir",
	}
	for _, n := range good {
		c := validCitizen()
		c.GivenName = n
		if err := c.Normalise(testNow); err != nil {
			t.Errorf("name %q: %v", n, err)
		}
	}
	c := validCitizen()
	c.GivenName = "Jose\u0301"
	_ = c.Normalise(testNow)
	if c.GivenName != "José" {
		t.Errorf("name not NFC: %q", c.GivenName)
	}

	bad := []string{"Anna2", "Anna_Maria", "<b>Anna</b>", "Anna\x00", "--", ". '", strings.Repeat("a", 81), "Anna😀"}
	for _, n := range bad {
		c := validCitizen()
		c.SecondSurname = n
		got := fieldsOf(t, c.Normalise(testNow))
		if want := [][2]string{{"second_surname", "name.invalid"}}; !reflect.DeepEqual(got, want) {
			t.Errorf("second surname %q: %v, want %v", n, got, want)
		}
	}
	c = validCitizen()
	c.SecondSurname = strings.Repeat("à", 80)
	if err := c.Normalise(testNow); err != nil {
		t.Errorf("80-rune surname: %v", err)
	}
	c = validCitizen()
	c.SecondSurname = "   "
	if err := c.Normalise(testNow); err != nil || c.SecondSurname != "" {
		t.Errorf("blank second surname: %v %q", err, c.SecondSurname)
	}
}

func TestCitizenNormaliseManyErrors(t *testing.T) {
	c := Citizen{
		Document:      Document{Number: "12345678A"},
		DocValidity:   Date{2020, time.January, 1},
		GivenName:     "  ",
		FirstSurname:  "Puig3",
		SecondSurname: "",
		BirthDate:     Date{2030, time.January, 1},
		Nationality:   "España",
		Email:         "maria at exemple.cat",
		Mobile:        "912345678",
		Language:      "fr",
		Level:         "",
		Channel:       "phone",
		Status:        "gone",
	}
	orig := c
	got := fieldsOf(t, c.Normalise(testNow))
	want := [][2]string{
		{"document", "document.letter"},
		{"doc_validity", "doc_validity.expired"},
		{"given_name", "name.required"},
		{"first_surname", "name.invalid"},
		{"birth_date", "birth_date.future"},
		{"nationality", "nationality.invalid"},
		{"email", "email.format"},
		{"mobile", "mobile.format"},
		{"language", "language.invalid"},
		{"level", "level.invalid"},
		{"channel", "channel.invalid"},
		{"status", "status.invalid"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fields\n got %v\nwant %v", got, want)
	}
	// What was typed in a field at fault is kept for the form.
	if c.Document != orig.Document || c.Email != orig.Email || c.Mobile != orig.Mobile || c.FirstSurname != orig.FirstSurname {
		t.Errorf("fields at fault were changed: %+v", c)
	}

	empty := Citizen{}
	got = fieldsOf(t, empty.Normalise(testNow))
	want = [][2]string{
		{"document", "document.empty"},
		{"given_name", "name.required"},
		{"first_surname", "name.required"},
		{"birth_date", "birth_date.required"},
		{"nationality", "nationality.required"},
		{"email", "email.required"},
		{"mobile", "mobile.required"},
		{"level", "level.invalid"},
		{"channel", "channel.invalid"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("empty citizen\n got %v\nwant %v", got, want)
	}
}

func TestCitizenNormaliseDocumentRules(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*Citizen)
		want   [][2]string
	}{
		{"dni validity missing", func(c *Citizen) { c.DocValidity = Date{} },
			[][2]string{{"doc_validity", "doc_validity.required"}}},
		{"dni validity impossible", func(c *Citizen) { c.DocValidity = Date{2030, time.February, 30} },
			[][2]string{{"doc_validity", "doc_validity.invalid"}}},
		{"dni expires today is fine", func(c *Citizen) { c.DocValidity = Date{2025, time.June, 15} }, nil},
		{"dni expired yesterday", func(c *Citizen) { c.DocValidity = Date{2025, time.June, 14} },
			[][2]string{{"doc_validity", "doc_validity.expired"}}},
		{"permanent dni issued in the past", func(c *Citizen) {
			c.DocPermanent = true
			c.DocValidity = Date{2012, time.March, 3}
		}, nil},
		{"permanent dni issued tomorrow", func(c *Citizen) {
			c.DocPermanent = true
			c.DocValidity = Date{2025, time.June, 16}
		}, [][2]string{{"doc_validity", "doc_validity.future"}}},
		{"dni holder with other nationality given", func(c *Citizen) { c.Nationality = " pt " }, nil},
		{"bad dni still checks its validity", func(c *Citizen) {
			c.Document.Number = "1234567Z"
			c.DocValidity = Date{}
		}, [][2]string{{"document", "document.format"}, {"doc_validity", "doc_validity.required"}}},
		{"nie needs support number and nationality", func(c *Citizen) {
			c.Document.Number = "Y1234567X"
			c.DocValidity = Date{}
		}, [][2]string{{"support_number", "support_number.required"}, {"nationality", "nationality.required"}}},
		{"nie support number shape", func(c *Citizen) {
			c.Document.Number = "Z1234567R"
			c.SupportNumber = "E1234567"
			c.Nationality = "MA"
		}, [][2]string{{"support_number", "support_number.format"}}},
		{"nie support number digits first", func(c *Citizen) {
			c.Document.Number = "Z1234567R"
			c.SupportNumber = "123456789"
			c.Nationality = "MA"
		}, [][2]string{{"support_number", "support_number.format"}}},
		{"nie with a wrong letter still checks support number", func(c *Citizen) {
			c.Document.Number = "Z1234567A"
			c.Nationality = "MA"
		}, [][2]string{{"document", "document.letter"}, {"support_number", "support_number.required"}}},
		{"unknown country", func(c *Citizen) { c.Nationality = "QQ" },
			[][2]string{{"nationality", "nationality.invalid"}}},
		{"three-letter country", func(c *Citizen) { c.Nationality = "ESP" },
			[][2]string{{"nationality", "nationality.invalid"}}},
		{"birth date before 1900", func(c *Citizen) { c.BirthDate = Date{1899, time.December, 31} },
			[][2]string{{"birth_date", "birth_date.invalid"}}},
		{"birth date impossible", func(c *Citizen) { c.BirthDate = Date{1990, time.February, 29} },
			[][2]string{{"birth_date", "birth_date.invalid"}}},
		{"born today", func(c *Citizen) { c.BirthDate = Date{2025, time.June, 15} }, nil},
		{"language upper case", func(c *Citizen) { c.Language = "ES" }, nil},
		{"level unknown", func(c *Citizen) { c.Level = "high" }, [][2]string{{"level", "level.invalid"}}},
		{"seed channel", func(c *Citizen) { c.Channel = ChannelSeed }, nil},
		{"suspended", func(c *Citizen) { c.Status = StatusSuspended }, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := validCitizen()
			tc.mutate(&c)
			if got := fieldsOf(t, c.Normalise(testNow)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCitizenAgeLimit(t *testing.T) {
	c := validCitizen()
	c.DocPermanent = true
	c.BirthDate = Date{1900, time.June, 16}
	// On 2050-06-15 this citizen is 149; the next day, 150.
	if err := c.Normalise(time.Date(2050, time.June, 15, 12, 0, 0, 0, time.UTC)); err != nil {
		t.Errorf("149 years: %v", err)
	}
	c = validCitizen()
	c.DocPermanent = true
	c.BirthDate = Date{1900, time.June, 16}
	got := fieldsOf(t, c.Normalise(time.Date(2050, time.June, 16, 12, 0, 0, 0, time.UTC)))
	if want := [][2]string{{"birth_date", "birth_date.invalid"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("150 years: %v", got)
	}
}

func validOffice() Office {
	return Office{
		Code:         " bcn-01 ",
		Name:         "Oficina d'Atenció Ciutadana  Ciutat Vella",
		Address:      "Plaça de Sant Miquel, 3",
		PostalCode:   "08002",
		Municipality: "Barcelona",
		Province:     "Barcelona",
		Phone:        "+34 (93) 402-70-00",
		Email:        "oac@Ajuntament.BCN.cat",
		OpeningHours: "Mon-Fri 08:30-14:30",
		Active:       true,
	}
}

func TestOfficeNormalise(t *testing.T) {
	o := validOffice()
	if err := o.Normalise(); err != nil {
		t.Fatalf("Normalise: %v", err)
	}
	if o.Code != "BCN-01" || o.Name != "Oficina d'Atenció Ciutadana Ciutat Vella" || o.Phone != "+34 93 402 70 00" ||
		o.Email != "oac@ajuntament.bcn.cat" || o.PostalCode != "08002" {
		t.Errorf("normalised to %+v", o)
	}
	again := o
	if err := again.Normalise(); err != nil || again != o {
		t.Errorf("second Normalise: %v %+v", err, again)
	}

	minimal := Office{Code: "GI", Name: "Girona", Address: "C. Major 1", PostalCode: "17001", Municipality: "Girona", Province: "Girona", Phone: "012"}
	if err := minimal.Normalise(); err != nil {
		t.Errorf("minimal office: %v", err)
	}

	empty := Office{}
	got := fieldsOf(t, empty.Normalise())
	want := [][2]string{
		{"code", "office.code"}, {"name", "office.name"}, {"address", "office.address"},
		{"postal_code", "office.postal_code"}, {"municipality", "office.municipality"}, {"province", "office.province"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("empty office\n got %v\nwant %v", got, want)
	}

	bad := Office{
		Code: "B", Name: strings.Repeat("n", 121), Address: "x", PostalCode: "53001", Municipality: "x", Province: "x",
		Phone: "93 402 70 00 ext. 5", Email: "oac@", OpeningHours: strings.Repeat("h", 201),
	}
	got = fieldsOf(t, bad.Normalise())
	want = [][2]string{
		{"code", "office.code"}, {"name", "office.name"}, {"postal_code", "office.postal_code"},
		{"phone", "office.phone"}, {"email", "email.format"}, {"opening_hours", "office.opening_hours"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("bad office\n got %v\nwant %v", got, want)
	}

	for _, code := range []string{"BCN_01", "BCN 01", strings.Repeat("A", 21), "ÀB"} {
		o := validOffice()
		o.Code = code
		if got := fieldsOf(t, o.Normalise()); !reflect.DeepEqual(got, [][2]string{{"code", "office.code"}}) {
			t.Errorf("code %q: %v", code, got)
		}
	}
	for _, pc := range []string{"8002", "080020", "00999", "0800A", "52999x"} {
		o := validOffice()
		o.PostalCode = pc
		if got := fieldsOf(t, o.Normalise()); !reflect.DeepEqual(got, [][2]string{{"postal_code", "office.postal_code"}}) {
			t.Errorf("postal code %q: %v", pc, got)
		}
	}
	for _, ph := range []string{"12", "93+4027000", "+", "1234567890123456"} {
		o := validOffice()
		o.Phone = ph
		if got := fieldsOf(t, o.Normalise()); !reflect.DeepEqual(got, [][2]string{{"phone", "office.phone"}}) {
			t.Errorf("phone %q: %v", ph, got)
		}
	}
}

func TestOfficerNormalise(t *testing.T) {
	o := Officer{Username: " Jordi.Pons ", DisplayName: " Jordi  Pons ", Role: RoleSupervisor, OfficeID: " off-1 "}
	if err := o.Normalise(); err != nil {
		t.Fatalf("Normalise: %v", err)
	}
	if o.Username != "jordi.pons" || o.DisplayName != "Jordi Pons" || o.Status != OfficerActive || o.OfficeID != "off-1" {
		t.Errorf("normalised to %+v", o)
	}

	empty := Officer{}
	got := fieldsOf(t, empty.Normalise())
	want := [][2]string{
		{"username", "officer.username"}, {"display_name", "officer.display_name"},
		{"role", "officer.role"}, {"office_id", "officer.office"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("empty officer\n got %v\nwant %v", got, want)
	}

	for _, u := range []string{"jo", "1jordi", "_jordi", "jordi pons", "jordi@pons", "jòrdi", strings.Repeat("j", 41)} {
		o := Officer{Username: u, DisplayName: "J", Role: RoleAdmin, OfficeID: "x"}
		if got := fieldsOf(t, o.Normalise()); !reflect.DeepEqual(got, [][2]string{{"username", "officer.username"}}) {
			t.Errorf("username %q: %v", u, got)
		}
	}
	o = Officer{Username: "ana", DisplayName: strings.Repeat("a", 121), Role: "boss", Status: "away", OfficeID: "x"}
	got = fieldsOf(t, o.Normalise())
	want = [][2]string{{"display_name", "officer.display_name"}, {"role", "officer.role"}, {"status", "officer.status"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("bad officer\n got %v\nwant %v", got, want)
	}
	o = Officer{Username: "ana_b-2.c", DisplayName: "Ana", Role: RoleOfficer, Status: OfficerDisabled, OfficeID: "x"}
	if err := o.Normalise(); err != nil {
		t.Errorf("disabled officer: %v", err)
	}
}
