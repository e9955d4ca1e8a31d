package xlsx_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap/xlsx"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/sink/memsink"
	"github.com/usersync/usersync/source/memsource"
)

func TestPipeline(t *testing.T) {
	tmp := t.TempDir()
	m := newMapper(t, testSchema(), nil, &xlsx.Options{Sheet: "Users", HeaderRow: 3, TempDir: tmp})
	src := memsource.New()
	defer src.Close()
	src.Put("users.xlsx", usersBook(t), time.Now())
	sink := memsink.New()
	p := usersync.Pipeline{Source: src, Mapper: m, Reconciler: reconcile.New(nil), Sink: sink, TempDir: tmp}
	res, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Applied.Created != 4 || res.RejectedTotal != 1 || res.Rejected[0].Cell != "Users!C8" {
		t.Errorf("created %d, rejected %v", res.Applied.Created, res.Rejected)
	}
	if u, ok := sink.User("1003"); !ok || u.Attrs.String() != `{name="Åsa Ström" email="asa@example.com" start="" salary="123456789012" dept="Sales"}` {
		t.Errorf("1003 = %v", u.Attrs)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("left in TempDir: %v", left)
	}

	// The next night's workbook is damaged: the run fails, nothing is
	// applied, and no user is deactivated.
	src.Remove(context.Background(), "users.xlsx")
	b := usersBook(t)
	src.Put("users.xlsx", b[:len(b)-100], time.Now())
	res, err = p.Run(context.Background())
	if !errors.Is(err, xlsx.ErrDamaged) || res.Status != usersync.Failed || res.Applied != (usersync.Counts{}) {
		t.Errorf("damaged: %v, %v, %+v", err, res.Status, res.Applied)
	}
	var fe *usersync.FileError
	if !errors.As(err, &fe) || fe.File != "users.xlsx" {
		t.Errorf("not a FileError naming the file: %v", err)
	}
	t.Log(err)
	if u, _ := sink.User("1001"); u.Inactive {
		t.Error("1001 deactivated")
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("left in TempDir: %v", left)
	}
}
