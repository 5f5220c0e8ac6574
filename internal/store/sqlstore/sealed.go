package sqlstore

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/clau-eid/clau/internal/store"
)

// sealedColumns lists every column that holds keyring-sealed values. A new
// secret column is added here so that key rotation re-seals it; sealed
// values inside flows are found by resealFlows.
var sealedColumns = []struct{ table, idCol, col string }{
	{"officers", "id", "totp_secret"},
	{"letters", "id", "code_sealed"},
}

// ResealAll implements store.Sealed, one transaction per row so a long
// rotation neither holds locks for long nor loses progress on failure.
func (s *Store) ResealAll(ctx context.Context, fn func(v store.SealedValue) (string, error)) (int, error) {
	n := 0
	for _, sc := range sealedColumns {
		rows, err := s.db.QueryContext(ctx, `SELECT `+sc.idCol+`, `+sc.col+` FROM `+sc.table+
			` WHERE `+sc.col+` <> '' ORDER BY `+sc.idCol)
		if err != nil {
			return n, err
		}
		var vals []store.SealedValue
		for rows.Next() {
			v := store.SealedValue{Table: sc.table, Column: sc.col}
			if err := rows.Scan(&v.RowID, &v.Value); err != nil {
				rows.Close()
				return n, err
			}
			vals = append(vals, v)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return n, err
		}
		for _, v := range vals {
			nv, err := fn(v)
			if err != nil {
				return n, err
			}
			if nv == v.Value {
				continue
			}
			res, err := s.db.ExecContext(ctx, `UPDATE `+sc.table+` SET `+sc.col+`=$1 WHERE `+sc.idCol+`=$2 AND `+sc.col+`=$3`,
				nv, v.RowID, v.Value)
			if err := checkOne(res, err); err != nil && err != store.ErrStale {
				return n, err
			} else if err == nil {
				n++
			}
		}
	}
	m, err := s.resealFlows(ctx, fn)
	return n + m, err
}

// resealFlows re-seals the sealed values kept in flows' JSON data. The
// rule every owner of a flow follows: a top-level string member F that
// holds a sealed value ("v1.<key>.<…>") was sealed with the associated
// data of SealedValue{Table: "flows", Column: "data.F", RowID: <flow id>}.
func (s *Store) resealFlows(ctx context.Context, fn func(v store.SealedValue) (string, error)) (int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, data FROM flows WHERE data LIKE '%"v1.%' ORDER BY id`)
	if err != nil {
		return 0, err
	}
	type row struct{ id, data string }
	var todo []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.data); err != nil {
			rows.Close()
			return 0, err
		}
		todo = append(todo, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	n := 0
	for _, r := range todo {
		var members map[string]json.RawMessage
		if json.Unmarshal([]byte(r.data), &members) != nil {
			continue
		}
		changed := false
		for k, raw := range members {
			var v string
			if json.Unmarshal(raw, &v) != nil || !strings.HasPrefix(v, "v1.") {
				continue
			}
			nv, err := fn(store.SealedValue{Table: "flows", Column: "data." + k, RowID: r.id, Value: v})
			if err != nil {
				return n, err
			}
			if nv != v {
				members[k], _ = json.Marshal(nv)
				changed = true
				n++
			}
		}
		if !changed {
			continue
		}
		data, err := json.Marshal(members)
		if err != nil {
			return n, err
		}
		// Only if the flow did not move on meanwhile; a flow that did was
		// written with the current keys anyway.
		if _, err := s.db.ExecContext(ctx, `UPDATE flows SET data=$1 WHERE id=$2 AND data=$3`, string(data), r.id, r.data); err != nil {
			return n, err
		}
	}
	return n, nil
}
