package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/store/sqlstore"
	"github.com/clau-eid/clau/internal/store/sqlstore/sqltest"
)

func fill(t *testing.T, s *sqlstore.Store, n int) {
	t.Helper()
	tr := audit.New(s, nil)
	for i := range n {
		if err := tr.Record(context.Background(), audit.Event{Actor: "officer:1", Action: "citizen.register",
			Subject: fmt.Sprintf("citizen:%d", i), Office: "BCN-01", Source: "192.0.2.1",
			Details: map[string]string{"document": "***4567*"}}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestVerifyIntactTrail(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, driver string) {
		s := sqltest.Open(t, driver)
		fill(t, s, 5)
		r, err := audit.Verify(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		if !r.OK() || r.Events != 5 || r.HeadSeq != 5 {
			t.Fatalf("intact trail reported %+v", r)
		}
	})
}

// Tampering straight in the database, as an intruder with SQL access would.
func TestVerifyDetectsTampering(t *testing.T) {
	cases := []struct {
		name string
		sql  []string
		kind string
		seq  int64
	}{
		{"altered outcome", []string{`UPDATE audit_events SET outcome='denied' WHERE seq=3`}, audit.Altered, 3},
		{"altered details", []string{`UPDATE audit_events SET details='{}' WHERE seq=2`}, audit.Altered, 2},
		{"deleted event", []string{`DELETE FROM audit_events WHERE seq=3`}, audit.Gap, 4},
		{"reordered events", []string{
			`UPDATE audit_events SET seq=100 WHERE seq=2`,
			`UPDATE audit_events SET seq=2 WHERE seq=3`,
			`UPDATE audit_events SET seq=3 WHERE seq=100`}, audit.Broken, 2},
		{"truncated end", []string{`DELETE FROM audit_events WHERE seq=5`}, audit.Truncated, 4},
		{"rehashed event", []string{`UPDATE audit_events SET actor='x', hash='00' WHERE seq=4`}, audit.Altered, 4},
	}
	sqltest.Run(t, func(t *testing.T, driver string) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				s := sqltest.Open(t, driver)
				fill(t, s, 5)
				for _, q := range tc.sql {
					if _, err := s.DB().Exec(q); err != nil {
						t.Fatal(err)
					}
				}
				r, err := audit.Verify(context.Background(), s)
				if err != nil {
					t.Fatal(err)
				}
				if r.OK() {
					t.Fatal("tampering not detected")
				}
				found := false
				for _, f := range r.Findings {
					if f.Kind == tc.kind && f.Seq == tc.seq {
						found = true
					}
				}
				if !found {
					t.Fatalf("findings %+v lack %s at %d", r.Findings, tc.kind, tc.seq)
				}
			})
		}
	})
}

func TestExportJSONLines(t *testing.T) {
	s := sqltest.Open(t, sqlstore.SQLite)
	fill(t, s, 3)
	var buf bytes.Buffer
	n, err := audit.Export(context.Background(), s, &buf, 2)
	if err != nil || n != 2 {
		t.Fatalf("export = %d %v", n, err)
	}
	sc := bufio.NewScanner(&buf)
	var seqs []int64
	for sc.Scan() {
		var e struct {
			Seq    int64  `json:"seq"`
			Action string `json:"action"`
			Hash   string `json:"hash"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if e.Action != "citizen.register" || len(e.Hash) != 64 {
			t.Fatalf("exported %+v", e)
		}
		seqs = append(seqs, e.Seq)
	}
	if len(seqs) != 2 || seqs[0] != 2 || seqs[1] != 3 {
		t.Fatalf("exported seqs %v", seqs)
	}
}
