package pgpdecrypt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"

	"github.com/usersync/usersync"
)

// Check checks the keys for an administrator, as a "Check setup" page
// would, and changes nothing. For each key it reports two results: whether
// the key decrypts (a message encrypted to it here decrypts back), with
// its user IDs, and whether it has expired ([ErrKeyExpired]) or was
// revoked. A key that still works but expires within
// Options.ExpiryWarning passes with a Warning, in good time to send the
// customer a new one. Each signer gets the same two: whether it can sign,
// and its expiry.
func (d *Decryptor) Check(context.Context) []usersync.CheckResult {
	ring, err := d.keyring()
	if err != nil {
		return []usersync.CheckResult{{Name: "PGP keys", Err: err}}
	}
	defer d.putRing(ring)
	byFpr := make(map[string]*openpgp.Entity, len(ring))
	for _, e := range ring {
		byFpr[fingerprint(e)] = e
	}
	c := keyCheck{now: d.now(), warn: d.expiryWarning}
	var res []usersync.CheckResult
	for _, k := range d.keys {
		res = append(res, c.decryption(byFpr[k.fpr])...)
	}
	for _, s := range d.signers {
		if !slices.Contains(d.keys, d.byFpr[s.fpr]) {
			res = append(res, c.signer(byFpr[s.fpr])...)
		}
	}
	return res
}

// CheckKeys checks a keyring for an administrator before it is used, as
// an "Upload key" form would: the first result says whether the keyring
// reads and unlocks with passphrase, then each key gets the results
// [Decryptor.Check] reports, as a decryption key if it holds a secret key
// able to decrypt, else as a signer. Of opts, only ExpiryWarning and Now
// matter.
func CheckKeys(keyring io.Reader, passphrase []byte, opts *Options) []usersync.CheckResult {
	if opts == nil {
		opts = &Options{}
	}
	c := keyCheck{now: time.Now(), warn: orDefault(opts.ExpiryWarning, DefaultExpiryWarning)}
	if opts.Now != nil {
		c.now = opts.Now()
	}
	keys, err := ReadKeys(keyring, passphrase)
	res := []usersync.CheckResult{{Name: "PGP keyring", Err: err, Detail: countKeys(len(keys))}}
	for _, k := range keys {
		if k.canDecrypt() {
			res = append(res, c.decryption(k.entity)...)
		} else {
			res = append(res, c.signer(k.entity)...)
		}
	}
	return res
}

func countKeys(n int) string {
	if n == 1 {
		return "1 key"
	}
	return fmt.Sprintf("%d keys", n)
}

// keyCheck checks keys at one moment.
type keyCheck struct {
	now  time.Time
	warn time.Duration
}

// decryption checks a decryption key: it decrypts, and it is valid now.
func (c keyCheck) decryption(e *openpgp.Entity) []usersync.CheckResult {
	fpr := fingerprint(e)
	var end time.Time
	for i, k := range secretDecryptionKeys(e) {
		if i == 0 {
			end = keyEnd(k)
		} else {
			end = later(end, keyEnd(k))
		}
	}
	// An expired key still decrypts what was sent to it before: test it
	// just before it expired, when one could still encrypt to it.
	at := c.now
	if !end.IsZero() && !at.Before(end) {
		at = end.Add(-time.Second)
	}
	usable := func() error {
		_, err := e.EncryptionKeyWithError(c.now, nil)
		return err
	}
	return []usersync.CheckResult{
		{Name: "PGP key " + fpr, Err: selfTest(e, at), Detail: userIDs(e)},
		c.expiry("PGP key "+fpr+" expiry", e, end, usable),
	}
}

// signer checks a signer's key: it can sign, and it is valid now.
func (c keyCheck) signer(e *openpgp.Entity) []usersync.CheckResult {
	fpr := fingerprint(e)
	k, ok := e.SigningKey(time.Time{}, nil)
	var err error
	if !ok {
		err = errors.New("the key has no signing key")
	}
	usable := func() error {
		if _, ok := e.SigningKey(c.now, nil); !ok {
			return errors.New("no valid signing key")
		}
		return nil
	}
	return []usersync.CheckResult{
		{Name: "PGP signer " + fpr, Err: err, Detail: userIDs(e)},
		c.expiry("PGP signer "+fpr+" expiry", e, keyEnd(k), usable),
	}
}

// expiry reports on a key that stops working at end (never when zero),
// and whose usable says whether it works now.
func (c keyCheck) expiry(name string, e *openpgp.Entity, end time.Time, usable func() error) usersync.CheckResult {
	r := usersync.CheckResult{Name: name, Detail: "never expires"}
	if !end.IsZero() {
		r.Detail = "expires on " + end.UTC().Format(time.DateOnly)
	}
	notUsable := usable()
	switch left := end.Sub(c.now); {
	case e.Revoked(c.now):
		r.Err = errors.New("the key was revoked")
	case !end.IsZero() && left <= 0:
		r.Err = fmt.Errorf("%w on %s: customers can no longer use it; older files still decrypt", ErrKeyExpired, end.UTC().Format(time.DateOnly))
	case notUsable != nil:
		r.Err = fmt.Errorf("the key is not usable now: %w", notUsable)
	case !end.IsZero() && left < c.warn:
		r.Warning = fmt.Sprintf("expires in %d days, on %s: make a new key and send it to the customer", int(left.Hours()/24), end.UTC().Format(time.DateOnly))
	}
	return r
}

// selfTest encrypts a message to e as it was at the time at, and decrypts
// it with e's secret key.
func selfTest(e *openpgp.Entity, at time.Time) error {
	const probe = "usersync key check"
	cfg := &packet.Config{Time: func() time.Time { return at }}
	var ct bytes.Buffer
	w, err := openpgp.Encrypt(&ct, []*openpgp.Entity{e}, nil, nil, nil, cfg)
	if err != nil {
		return fmt.Errorf("cannot encrypt to the key: %w", err)
	}
	if _, err := io.WriteString(w, probe); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	md, err := openpgp.ReadMessage(&ct, openpgp.EntityList{e}, nil, cfg)
	if err != nil {
		return fmt.Errorf("the secret key does not decrypt: %w", err)
	}
	got, err := io.ReadAll(md.UnverifiedBody)
	if err != nil || string(got) != probe {
		return fmt.Errorf("the secret key does not decrypt: got %q, %v", got, err)
	}
	return nil
}

// keyEnd returns when k stops working: when its primary key or, for a
// subkey, the subkey expires; zero if never.
func keyEnd(k openpgp.Key) time.Time {
	if k.Entity == nil {
		return time.Time{}
	}
	end := lifetimeEnd(k.Entity.PrimaryKey.CreationTime, k.PrimarySelfSignature)
	if k.PublicKey != k.Entity.PrimaryKey {
		if sub := lifetimeEnd(k.PublicKey.CreationTime, k.SelfSignature); !sub.IsZero() && (end.IsZero() || sub.Before(end)) {
			end = sub
		}
	}
	return end
}

// lifetimeEnd returns when a key created at created expires under its
// self-signature sig; zero if never.
func lifetimeEnd(created time.Time, sig *packet.Signature) time.Time {
	if sig == nil || sig.KeyLifetimeSecs == nil || *sig.KeyLifetimeSecs == 0 {
		return time.Time{}
	}
	return created.Add(time.Duration(*sig.KeyLifetimeSecs) * time.Second)
}

// later returns the later of two ends, where zero means never.
func later(a, b time.Time) time.Time {
	if a.IsZero() || b.IsZero() {
		return time.Time{}
	}
	if b.After(a) {
		return b
	}
	return a
}

func userIDs(e *openpgp.Entity) string {
	return "user IDs: " + strings.Join(newKey(e).userIDs, "; ")
}
