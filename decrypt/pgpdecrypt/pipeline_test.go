package pgpdecrypt_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/decrypt"
	"github.com/usersync/usersync/decrypt/pgpdecrypt"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/sink/memsink"
	"github.com/usersync/usersync/source/memsource"
)

// testPipeline runs whole syncs, memsource to memsink, on gpg's files: a
// good file applies, and every bad one fails the run with nothing applied.
func testPipeline(t *testing.T, fx fixtures) {
	rsa := fx.keys(t, "rsa")[0]
	signed := fx.decryptor(t, &pgpdecrypt.Options{Signers: fx.keys(t, "signer")}, "rsa", "cv")
	// Encryption and a signature are required of every file: the
	// decryptor sees them all.
	run := func(t *testing.T, d usersync.Decryptor, name string, data []byte) (*usersync.Result, *memsink.Sink) {
		t.Helper()
		sink := seededSink()
		src := memsource.New()
		require.NoError(t, src.Put(name, data, checkTime))
		m, err := csvmap.New(csvmap.Schema{Columns: []csvmap.Column{
			{Name: "id", Header: "UniqueID", Role: csvmap.Key},
			{Name: "name", Header: "Name", Required: true},
			{Name: "email", Header: "Mail", Kind: csvmap.Email, Required: true},
			{Name: "groups", Header: "Groups", Role: csvmap.Groups},
		}}, nil)
		require.NoError(t, err)
		p := usersync.Pipeline{Source: src, Decryptor: d, Mapper: m, Reconciler: reconcile.New(nil), Sink: sink}
		res, _ := p.Run(context.Background())
		return res, sink
	}

	t.Run("Applies", func(t *testing.T) {
		d := decrypt.BySuffix(fx.decryptor(t, nil, "rsa"), ".gpg", ".asc")
		res, sink := run(t, d, "users.csv.asc", fx["rsa-zlib.asc"])
		require.NoError(t, res.Err)
		assert.Equal(t, usersync.Succeeded, res.Status)
		assert.Equal(t, rsa.String(), res.Files[0].DecryptedBy)
		u, ok := sink.User("1002")
		require.True(t, ok)
		assert.Equal(t, "Jörg Müller", u.Attrs.Value("name"))
		assert.Equal(t, []string{"admins", "staff"}, u.Groups)
	})

	bad := map[string]struct {
		d    usersync.Decryptor
		name string
		data []byte
		want error
	}{
		"flipped byte":   {signed, "users.csv.gpg", flip(fx["cv-zlib-signed.gpg"], len(fx["cv-zlib-signed.gpg"])/2), usersync.ErrIntegrity},
		"flipped tag":    {signed, "users.csv.gpg", flip(fx["cv-zlib-signed.gpg"], len(fx["cv-zlib-signed.gpg"])-3), usersync.ErrIntegrity},
		"truncated":      {signed, "users.csv.gpg", fx["cv-zlib-signed.gpg"][:len(fx["cv-zlib-signed.gpg"])-30], usersync.ErrIntegrity},
		"wrong key":      {fx.decryptor(t, nil, "expiring"), "users.csv.gpg", fx["rsa-zlib.asc"], pgpdecrypt.ErrNoKey},
		"unsigned":       {signed, "users.csv.gpg", fx["cv-none.gpg"], pgpdecrypt.ErrSignature},
		"another signer": {signed, "users.csv.gpg", fx["other-signed.gpg"], pgpdecrypt.ErrSignature},
		"bomb":           {fx.decryptor(t, nil, "rsa"), "users.csv.gpg", fx["bomb.gpg"], pgpdecrypt.ErrTooLarge},
		"not encrypted":  {signed, "users.csv", []byte(plainCSV), pgpdecrypt.ErrNotEncrypted},
		"only signed":    {signed, "users.csv.gpg", fx["signed-only.gpg"], pgpdecrypt.ErrNotEncrypted},
		"no MDC":         {signed, "users.csv.gpg", fx["nomdc.gpg"], usersync.ErrIntegrity},
	}
	for name, c := range bad {
		t.Run(name, func(t *testing.T) {
			res, sink := run(t, c.d, c.name, c.data)
			require.ErrorIs(t, res.Err, c.want)
			var fe *usersync.FileError
			require.ErrorAs(t, res.Err, &fe)
			assert.Equal(t, "decrypt", fe.Op, "the error names the stage that found the fault: %v", res.Err)
			assert.Equal(t, usersync.Failed, res.Status)
			assert.Nil(t, res.Plan, "nothing is planned from a file that did not verify")
			assert.Zero(t, res.Applied.Total())
			users, groups := sink.Snapshot()
			before, beforeGroups := seededSink().Snapshot()
			assert.Equal(t, before, users, "no user changed")
			assert.Equal(t, beforeGroups, groups)
		})
	}
}

// seededSink holds the users of yesterday's file, which today's would
// change: one leaves, one changes name.
func seededSink() *memsink.Sink {
	s := memsink.New()
	for _, u := range []struct{ id, name, email string }{
		{"1001", "Åsa Öberg", "asa@example.com"},
		{"1002", "Jörg Mueller", "jorg@example.com"},
		{"1003", "Leaver", "leaver@example.com"},
	} {
		s.PutUser(usersync.Record{Key: u.id, Managed: true,
			Attrs: usersync.NewAttrs("name", u.name, "email", u.email)})
	}
	return s
}

func flip(data []byte, off int) []byte {
	c := bytes.Clone(data)
	c[off] ^= 0x01
	return c
}
