package sqlstore

import (
	"context"

	"github.com/clau-eid/clau/internal/store"
)

// sealedColumns lists every column that holds keyring-sealed values. A new
// secret column is added here so that key rotation re-seals it.
var sealedColumns = []struct{ table, idCol, col string }{
	{"officers", "id", "totp_secret"},
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
	return n, nil
}
