package identity

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestParseDate(t *testing.T) {
	ok := []struct {
		in   string
		want Date
	}{
		{"2024-02-29", Date{2024, time.February, 29}},
		{"1900-01-01", Date{1900, time.January, 1}},
		{"9999-12-31", Date{9999, time.December, 31}},
		{" 1985-07-14 ", Date{1985, time.July, 14}},
		{"14/07/1985", Date{1985, time.July, 14}},
		{"4/7/1985", Date{1985, time.July, 4}},
		{"29/02/2000", Date{2000, time.February, 29}},
	}
	for _, tc := range ok {
		got, err := ParseDate(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseDate(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	bad := []string{
		"", "2023-02-29", "1900-02-29", "2024-13-01", "2024-00-10", "2024-04-31", "2024-01-00",
		"24-01-01", "1899-12-31", "10000-01-01", "2024-1-01", "2024/01/01", "2024-01-01T00:00:00Z",
		"+024-01-01", "2024-01-0a", "31/02/2024", "01/13/2024", "1/1/24", "001/01/2024", "1//2024",
		"01/01/2024/1", "2024−01−01", "٢٠٢٤-٠١-٠١",
	}
	for _, s := range bad {
		if got, err := ParseDate(s); err == nil || !errors.Is(err, ErrDate) || !got.IsZero() {
			t.Errorf("ParseDate(%q) = %v, %v; want ErrDate", s, got, err)
		}
	}
}

func TestDateMethods(t *testing.T) {
	a := Date{2000, time.March, 5}
	b := Date{2000, time.March, 6}
	c := Date{2001, time.January, 1}
	if a.String() != "2000-03-05" || (Date{}).String() != "" {
		t.Errorf("String: %q", a.String())
	}
	if !a.Before(b) || b.Before(a) || a.Before(a) || !c.After(b) || a.Compare(a) != 0 {
		t.Error("ordering")
	}
	if !(Date{}).IsZero() || a.IsZero() {
		t.Error("IsZero")
	}
	if (Date{2023, time.February, 29}).Valid() || !(Date{2024, time.February, 29}).Valid() {
		t.Error("Valid")
	}
	madrid := time.FixedZone("CEST", 2*3600)
	tm := time.Date(2024, time.June, 30, 23, 30, 0, 0, time.UTC)
	if got := DateOf(tm.In(madrid)); got != (Date{2024, time.July, 1}) {
		t.Errorf("DateOf in +02:00 = %v", got)
	}
	if got := DateOf(tm); got != (Date{2024, time.June, 30}) {
		t.Errorf("DateOf in UTC = %v", got)
	}
	birth := Date{2000, time.February, 29}
	for _, tc := range []struct {
		on   Date
		want int
	}{
		{Date{2018, time.February, 28}, 17},
		{Date{2018, time.March, 1}, 18},
		{Date{2020, time.February, 29}, 20},
		{Date{2000, time.February, 29}, 0},
	} {
		if got := birth.YearsAt(tc.on); got != tc.want {
			t.Errorf("YearsAt(%v) = %d, want %d", tc.on, got, tc.want)
		}
	}
}

func TestDateJSON(t *testing.T) {
	var v struct{ D, Z Date }
	if err := json.Unmarshal([]byte(`{"D":"1985-07-14","Z":""}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.D != (Date{1985, time.July, 14}) || !v.Z.IsZero() {
		t.Fatalf("got %+v", v)
	}
	out, _ := json.Marshal(v)
	if string(out) != `{"D":"1985-07-14","Z":""}` {
		t.Errorf("marshal = %s", out)
	}
	if err := json.Unmarshal([]byte(`{"D":"2023-02-29"}`), &v); !errors.Is(err, ErrDate) {
		t.Errorf("bad date: %v", err)
	}
}
