package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/roster-dev/roster/internal/pii"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

// The two engines' migrations are separate files that nothing else keeps
// in step. This compares what they build: the same tables, columns and
// nullability, and the same indexes over the same columns (types differ
// by design and are not compared; an expression column is compared as
// "expr", since each engine prints expressions its own way).
func TestMigrationsDefineTheSameSchema(t *testing.T) {
	got := map[string][]string{}
	for _, engine := range storetest.Engines() {
		db := storetest.Open(t, engine)
		got[engine] = describeSchema(t, engine, db)
	}
	sqlite, pg := got["sqlite"], got["postgres"]
	if len(sqlite) < 20 {
		t.Fatalf("the SQLite schema description looks empty:\n%s", strings.Join(sqlite, "\n"))
	}
	for _, l := range sqlite {
		if !slices.Contains(pg, l) {
			t.Errorf("only in the SQLite migrations: %s", l)
		}
	}
	for _, l := range pg {
		if !slices.Contains(sqlite, l) {
			t.Errorf("only in the PostgreSQL migrations: %s", l)
		}
	}
	if t.Failed() {
		t.Logf("SQLite schema:\n%s", strings.Join(sqlite, "\n"))
	}
}

// describeSchema returns one sorted line per column and per index.
// Primary keys are columns flagged "pk" (their index is implied), and an
// index that backs a UNIQUE constraint is named by its columns, since
// each engine names those itself.
func describeSchema(t *testing.T, engine string, db store.Engine) []string {
	t.Helper()
	ctx := context.Background()
	var colSQL, idxSQL string
	switch engine {
	case "sqlite":
		colSQL = `SELECT m.name, c.name, c."notnull" = 1 OR c.pk > 0, c.pk > 0
FROM sqlite_master m, pragma_table_xinfo(m.name) c -- xinfo: generated columns too
WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> 'goose_db_version'`
		idxSQL = `SELECT m.name, l.name, l.origin = 'u', l."unique" = 1, l.partial = 1,
    COALESCE(c.name, 'expr')
FROM sqlite_master m, pragma_index_list(m.name) l, pragma_index_info(l.name) c
WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> 'goose_db_version' AND l.origin <> 'pk'
ORDER BY m.name, l.name, c.seqno`
	case "postgres":
		colSQL = `SELECT c.table_name, c.column_name, c.is_nullable = 'NO',
    EXISTS (SELECT 1 FROM information_schema.table_constraints tc
        JOIN information_schema.key_column_usage k ON k.constraint_name = tc.constraint_name AND k.table_schema = tc.table_schema
        WHERE tc.table_schema = c.table_schema AND tc.table_name = c.table_name AND tc.constraint_type = 'PRIMARY KEY'
          AND k.column_name = c.column_name)
FROM information_schema.columns c
WHERE c.table_schema = current_schema() AND c.table_name <> 'goose_db_version'`
		idxSQL = `SELECT t.relname,
    i.relname, EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = ix.indexrelid AND k.contype = 'u'),
    ix.indisunique, ix.indpred IS NOT NULL,
    CASE WHEN ix.indkey[n.n - 1] = 0 THEN 'expr' ELSE pg_get_indexdef(ix.indexrelid, n.n, true) END
FROM pg_index ix
JOIN pg_class i ON i.oid = ix.indexrelid
JOIN pg_class t ON t.oid = ix.indrelid
JOIN pg_namespace s ON s.oid = t.relnamespace
CROSS JOIN LATERAL generate_series(1, ix.indnatts) AS n(n)
WHERE s.nspname = current_schema() AND t.relname <> 'goose_db_version' AND NOT ix.indisprimary
ORDER BY t.relname, i.relname, n.n`
	}
	var out []string
	rows, err := db.Query(ctx, colSQL)
	if err != nil {
		t.Fatalf("%s columns: %v", engine, err)
	}
	for rows.Next() {
		var table, col string
		var notNull, pk bool
		if err := rows.Scan(&table, &col, &notNull, &pk); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("column %s.%s notnull=%v pk=%v", table, col, notNull, pk))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()

	type index struct {
		table, name                 string
		constraint, unique, partial bool
		cols                        []string
	}
	var idx []*index
	rows, err = db.Query(ctx, idxSQL)
	if err != nil {
		t.Fatalf("%s indexes: %v", engine, err)
	}
	for rows.Next() {
		var x index
		var col string
		if err := rows.Scan(&x.table, &x.name, &x.constraint, &x.unique, &x.partial, &col); err != nil {
			t.Fatal(err)
		}
		// Rows of one index arrive together, in column order.
		if n := len(idx); n > 0 && idx[n-1].table == x.table && idx[n-1].name == x.name {
			idx[n-1].cols = append(idx[n-1].cols, col)
			continue
		}
		x.cols = []string{col}
		idx = append(idx, &x)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	for _, x := range idx {
		if x.constraint {
			x.name = "UNIQUE constraint"
		}
		out = append(out, fmt.Sprintf("index %s %q unique=%v partial=%v (%s)", x.table, x.name, x.unique, x.partial, strings.Join(x.cols, ", ")))
	}
	slices.Sort(out)
	return out
}

// Every sealed column (named *_enc) is in pii's table of bindings, so the
// one place that says how a value is bound to its row is complete.
func TestSealedColumnsAreListedInPII(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	listed := map[string]bool{}
	for _, c := range pii.SealedColumns {
		listed[c.Table+"."+c.Column] = true
	}
	found := 0
	for _, l := range describeSchema(t, "sqlite", db) {
		var table, col string
		if n, _ := fmt.Sscanf(strings.ReplaceAll(l, ".", " "), "column %s %s", &table, &col); n != 2 || !strings.HasSuffix(col, "_enc") {
			continue
		}
		found++
		if !listed[table+"."+col] {
			t.Errorf("sealed column %s.%s is not in pii.SealedColumns", table, col)
		}
		delete(listed, table+"."+col)
	}
	if found == 0 {
		t.Fatal("no sealed columns found")
	}
	for c := range listed {
		t.Errorf("pii.SealedColumns lists %s, which is not in the schema", c)
	}
}
