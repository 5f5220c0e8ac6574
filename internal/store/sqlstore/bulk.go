package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/clau-eid/clau/internal/identity"
)

// BulkCitizen is one row of a bulk load: a citizen and, when PasswordHash
// is set, their password (an argon2id PHC string).
type BulkCitizen struct {
	Citizen      identity.Citizen
	PasswordHash string
}

// bulkChunk is how many citizens one bulk-load transaction holds: large
// enough that commits cost nothing, small enough that a SQLite WAL or a
// PostgreSQL transaction stays a few hundred megabytes and an interrupted
// load keeps most of what it did.
const bulkChunk = 200_000

// sqliteRowsPerInsert is how many citizens one multi-row INSERT carries on
// SQLite: 21 parameters each stays far below SQLite's 32,766.
const sqliteRowsPerInsert = 500

// LoadCitizens stores n citizens, next(0) to next(n-1), with their
// passwords, in large transactions: multi-row INSERTs on SQLite, COPY on
// PostgreSQL. It is the registry loader for benchmarks and large test
// registries: tens of thousands of citizens a second instead of a few
// thousand, so a registry of millions takes minutes. It writes no audit
// events (the caller records one for the whole load) and stops at the
// first error; chunks already committed stay. done, when set, is called
// after each commit with the number of citizens stored so far.
func (s *Store) LoadCitizens(ctx context.Context, n int, next func(i int) BulkCitizen, done func(stored int)) error {
	if s.tx != nil {
		return errors.New("sqlstore: LoadCitizens runs its own transactions")
	}
	for start := 0; start < n; start += bulkChunk {
		end := min(start+bulkChunk, n)
		var err error
		if s.driver == Postgres {
			err = s.copyCitizens(ctx, start, end, next)
		} else {
			err = s.insertCitizens(ctx, start, end, next)
		}
		if err != nil {
			return fmt.Errorf("bulk load of citizens %d to %d: %w", start, end-1, mapErr(err))
		}
		if done != nil {
			done(end)
		}
	}
	return nil
}

func (s *Store) bulkTimes(c *identity.Citizen) {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.now().UTC()
	}
	c.UpdatedAt = c.CreatedAt
	c.Version = 1
}

func citizenRow(c *identity.Citizen) []any {
	return []any{c.ID, string(c.Document.Type), c.Document.Number, dateText(c.DocValidity), c.DocPermanent, c.SupportNumber,
		c.GivenName, c.FirstSurname, c.SecondSurname, dateText(c.BirthDate), c.Nationality, c.Email, c.Mobile,
		c.Language, string(c.Level), string(c.Channel), string(c.Status), c.Version, micros(c.CreatedAt), micros(c.UpdatedAt),
		c.OfficeID}
}

// insertCitizens is one SQLite transaction of multi-row INSERTs, with a
// larger page cache for its connection while it runs (random IDs touch
// index pages all over the file).
func (s *Store) insertCitizens(ctx context.Context, start, end int, next func(int) BulkCitizen) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA cache_size = -262144`); err != nil { // 256 MiB
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA cache_size = -2000`) // SQLite's default
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	cols := strings.Count(citizenCols, ",") + 1
	citizens := make([]any, 0, sqliteRowsPerInsert*cols)
	passwords := make([]any, 0, sqliteRowsPerInsert*4)
	flush := func() error {
		if len(citizens) > 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO citizens (`+citizenCols+`) VALUES `+
				placeholders(len(citizens)/cols, cols), citizens...); err != nil {
				return err
			}
		}
		if len(passwords) > 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO passwords (citizen_id, hash, set_at, version) VALUES `+
				placeholders(len(passwords)/4, 4), passwords...); err != nil {
				return err
			}
		}
		citizens, passwords = citizens[:0], passwords[:0]
		return nil
	}
	for i := start; i < end; i++ {
		b := next(i)
		s.bulkTimes(&b.Citizen)
		citizens = append(citizens, citizenRow(&b.Citizen)...)
		if b.PasswordHash != "" {
			passwords = append(passwords, b.Citizen.ID, b.PasswordHash, micros(b.Citizen.CreatedAt), int64(1))
		}
		if len(citizens) == sqliteRowsPerInsert*cols {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	return tx.Commit()
}

// placeholders is "(?,…,?),(?,…)" for rows rows of cols values. Plain "?"
// rather than "$n": SQLite looks numbered parameters up by name, one linear
// search each, which made a 10,000-parameter INSERT cost more than its rows.
func placeholders(rows, cols int) string {
	row := "(" + strings.Repeat("?,", cols-1) + "?)"
	return strings.Repeat(row+",", rows-1) + row
}

// copyCitizens is one PostgreSQL transaction of two COPYs: the citizens,
// then their passwords (kept in memory for the chunk, a few tens of MB).
func (s *Store) copyCitizens(ctx context.Context, start, end int, next func(int) BulkCitizen) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(driverConn any) error {
		sc, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("postgres connection is a %T, not pgx", driverConn)
		}
		tx, err := sc.Conn().Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx)
		var passwords [][]any
		i := start
		rows := pgx.CopyFromFunc(func() ([]any, error) {
			if i >= end {
				return nil, nil
			}
			b := next(i)
			i++
			s.bulkTimes(&b.Citizen)
			if b.PasswordHash != "" {
				passwords = append(passwords, []any{b.Citizen.ID, b.PasswordHash, micros(b.Citizen.CreatedAt), int64(1)})
			}
			return citizenRow(&b.Citizen), nil
		})
		cols := strings.Fields(strings.ReplaceAll(citizenCols, ",", " "))
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"citizens"}, cols, rows); err != nil {
			return err
		}
		if len(passwords) > 0 {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"passwords"}, []string{"citizen_id", "hash", "set_at", "version"},
				pgx.CopyFromRows(passwords)); err != nil {
				return err
			}
		}
		return tx.Commit(ctx)
	})
}
