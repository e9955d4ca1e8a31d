package pgpdecrypt

import (
	"context"
	"errors"
	"fmt"
	"io"

	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"

	"github.com/usersync/usersync"
)

// reader streams a message's plaintext and turns go-crypto's checks at the
// end of the message, some of which it only records, into Read errors.
type reader struct {
	ctx      context.Context
	d        *Decryptor
	ring     openpgp.EntityList // the keys md uses, back to d.rings at the end
	md       *openpgp.MessageDetails
	by       string // names the key that decrypted the message
	limit    int64  // plaintext bytes allowed
	fileSize int64
	n        int64 // plaintext bytes read
	err      error // sticky: io.EOF after a verified end, or the failure
}

var _ usersync.DecryptedReader = (*reader)(nil)

func (r *reader) Read(p []byte) (n int, err error) {
	if r.err != nil {
		return 0, r.err
	}
	if err := r.ctx.Err(); err != nil {
		r.finish(err)
		return 0, err
	}
	defer r.recovered(&n, &err)
	n, err = r.md.UnverifiedBody.Read(p)
	r.n += int64(n)
	if over := r.n - r.limit; over > 0 {
		// Deliver no byte past the limit.
		r.finish(&TooLargeError{Limit: r.limit, FileSize: r.fileSize})
		return n - int(over), r.err
	}
	switch {
	case err == nil:
		return n, nil
	case err == io.EOF:
		// go-crypto checked the MDC or the last AEAD tag on its way to
		// EOF, but only records signature results: check them now.
		err = r.d.verify(r.md)
		if err == nil {
			err = io.EOF
		}
	case errors.Is(err, pgperrors.ErrMessageTooLarge):
		err = &TooLargeError{Limit: r.limit, FileSize: r.fileSize}
	default:
		err = fmt.Errorf("pgpdecrypt: %w: the message was changed, cut short or damaged: %w", usersync.ErrIntegrity, err)
	}
	r.finish(err)
	return n, err
}

// finish ends the reader with err, io.EOF or a failure, and hands its keys
// back: go-crypto will not touch them for this message again.
func (r *reader) finish(err error) {
	r.err = err
	if r.ring != nil {
		r.d.putRing(r.ring)
	}
	r.ring, r.md = nil, nil
}

// recovered turns a panic of go-crypto's parser into the Read's error.
// It must be deferred directly, for recover to see the panic.
func (r *reader) recovered(n *int, err *error) {
	if p := recover(); p != nil {
		// The keys may be half way through a change: drop them.
		r.ring, r.md = nil, nil
		r.err = parserPanic(p)
		*n, *err = 0, r.err
	}
}

// DecryptedBy names the key that decrypted the message: its fingerprint
// and primary user ID. It is empty for a message that was not encrypted
// (see Options.AllowUnencrypted).
func (r *reader) DecryptedBy() string { return r.by }
