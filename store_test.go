package usersync_test

import (
	"testing"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/storetest"
)

func TestMemStore(t *testing.T) {
	storetest.Run(t, func(*testing.T) usersync.Store { return &usersync.MemStore{} })
}

func TestFileStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) usersync.Store {
		s, err := usersync.NewFileStore(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
