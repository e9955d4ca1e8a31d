package bench

import (
	"io"
	"os"
)

// RemoveSQLite removes a SQLite database file and its WAL, shared-memory
// and journal files.
func RemoveSQLite(path string) {
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		os.Remove(path + suffix)
	}
}

// CopyFile copies a file, flushed to disk, so that writing it back does not
// fall into a timed sync.
func CopyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
