package sqlsink

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync/sink/sqlsink/sqlite"
)

// TestMultiRowStaysWithinSQLitesValues writes rows so wide that a
// statement of insertRows of them would bind more values than SQLite
// takes: multiRow then puts fewer in each.
func TestMultiRowStaysWithinSQLitesValues(t *testing.T) {
	ctx := t.Context()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "wide.db"))
	require.NoError(t, err)
	defer db.Close()
	const width, n = 300, 1000
	cols := make([]string, width)
	for i := range cols {
		cols[i] = fmt.Sprintf("c%d INTEGER", i)
	}
	_, err = db.ExecContext(ctx, "CREATE TABLE wide ("+strings.Join(cols, ", ")+")")
	require.NoError(t, err)
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()

	most := 0
	stmt := func(rows int) string {
		most = max(most, rows)
		return "INSERT INTO wide VALUES " + rowsOf(rows, width)
	}
	err = multiRow(ctx, &txn{Conn: conn}, stmt, insertRows, n, width, func(i int, args []any) []any {
		for j := range width {
			args = append(args, i*width+j)
		}
		return args
	})
	require.NoError(t, err)
	assert.LessOrEqual(t, most*width, sqliteMaxArgs)
	var count int
	require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM wide").Scan(&count))
	assert.Equal(t, n, count)
}
