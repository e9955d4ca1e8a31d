package pgpdecrypt

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"

	"github.com/usersync/usersync"
)

var (
	_ usersync.Decryptor = (*Decryptor)(nil)
	_ usersync.Checker   = (*Decryptor)(nil)
)

// Defaults for the fields of Options.
const (
	// DefaultMaxExpansion lets a file's plaintext be 32 times its size:
	// more than a CSV file compresses by, and far less than the 1000
	// times of a deflate bomb.
	DefaultMaxExpansion = 32
	// DefaultMaxPlaintext caps any file's plaintext at 4 GiB.
	DefaultMaxPlaintext = 4 << 30
	// DefaultExpiryWarning is how long before a key expires the key check
	// warns.
	DefaultExpiryWarning = 30 * 24 * time.Hour
)

// minPlaintextLimit is the plaintext every file may have, however small:
// the ratio is for large files, and a megabyte threatens nobody.
const minPlaintextLimit = 1 << 20

// Options configures a Decryptor. A nil *Options gives the defaults: every
// message must be encrypted to one of the keys, signatures are checked
// when their signer is known but not required.
type Options struct {
	// Signers, when set, are the keys one of which must sign every
	// message, such as the customer's own key: a message that is not
	// signed, or only by other keys, fails, and so does any signature
	// that does not verify. They may be public keys.
	Signers []*Key
	// AllowUnencrypted accepts messages that are signed but not
	// encrypted. It needs Signers, since such a message has no other
	// integrity check.
	AllowUnencrypted bool
	// MaxExpansion bounds a file's plaintext to this many times its size,
	// when the Source announces the size, against decompression bombs;
	// 0 means DefaultMaxExpansion. Every file may have at least 1 MiB.
	MaxExpansion int64
	// MaxPlaintext bounds any file's plaintext, in bytes; 0 means
	// DefaultMaxPlaintext.
	MaxPlaintext int64
	// ExpiryWarning is how long before a key expires Check starts to warn;
	// 0 means DefaultExpiryWarning.
	ExpiryWarning time.Duration
	// Now returns the current time, against which signatures and keys are
	// checked; nil means time.Now.
	Now func() time.Time
}

// A Decryptor decrypts OpenPGP messages with a set of private keys. It is a
// usersync.Decryptor and a usersync.Checker, and is safe for concurrent
// use. Make one with [New].
type Decryptor struct {
	keys    []*Key
	signers []*Key
	byFpr   map[string]*Key // keys and signers
	signer  map[string]bool // fingerprints of the signers
	// ring is keys and signers serialized, with their secret parts
	// unlocked, as they are in memory anyway. Each Decrypt works on a copy
	// of them that no other holds at the time, because go-crypto caches
	// signature checks inside the key structures without locking. Copies
	// are reused through rings, as reading one takes about 10 ms for an
	// RSA key.
	ring  []byte
	rings sync.Pool // of *openpgp.EntityList

	allowUnencrypted bool
	maxExpansion     int64
	maxPlaintext     int64
	expiryWarning    time.Duration
	now              func() time.Time
}

// New returns a Decryptor that decrypts with keys, each of which must hold
// an unlocked secret key able to decrypt (see [ReadKeys]). Give several
// keys while rotating: a message encrypted to any of them decrypts.
func New(keys []*Key, opts *Options) (*Decryptor, error) {
	if len(keys) == 0 {
		return nil, errors.New("pgpdecrypt: no key given")
	}
	if opts == nil {
		opts = &Options{}
	}
	if opts.AllowUnencrypted && len(opts.Signers) == 0 {
		return nil, errors.New("pgpdecrypt: AllowUnencrypted needs Signers: an unencrypted, unsigned message has no integrity check")
	}
	d := &Decryptor{
		keys:             slices.Clone(keys),
		signers:          slices.Clone(opts.Signers),
		byFpr:            make(map[string]*Key),
		signer:           make(map[string]bool),
		allowUnencrypted: opts.AllowUnencrypted,
		maxExpansion:     orDefault(opts.MaxExpansion, DefaultMaxExpansion),
		maxPlaintext:     orDefault(opts.MaxPlaintext, DefaultMaxPlaintext),
		expiryWarning:    orDefault(opts.ExpiryWarning, DefaultExpiryWarning),
		now:              opts.Now,
	}
	if d.now == nil {
		d.now = time.Now
	}
	if err := d.addKeys(); err != nil {
		return nil, err
	}
	ring, err := d.keyring()
	if err != nil {
		return nil, fmt.Errorf("pgpdecrypt: the keys do not read back: %w", err)
	}
	d.putRing(ring)
	return d, nil
}

func orDefault[T int64 | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// addKeys checks the keys and signers and serializes them into d.ring.
func (d *Decryptor) addKeys() error {
	var ring bytes.Buffer
	add := func(k *Key) error {
		if d.byFpr[k.fpr] != nil {
			return nil
		}
		d.byFpr[k.fpr] = k
		return k.serialize(&ring)
	}
	for _, k := range d.keys {
		if !k.canDecrypt() {
			return &KeyError{Key: k.fpr, Err: ErrNoSecretKey}
		}
		if err := add(k); err != nil {
			return &KeyError{Key: k.fpr, Err: err}
		}
	}
	for _, s := range d.signers {
		if _, ok := s.entity.SigningKey(time.Time{}, nil); !ok {
			return &KeyError{Key: s.fpr, Err: errors.New("cannot be a signer: the key has no signing key")}
		}
		d.signer[s.fpr] = true
		if err := add(s); err != nil {
			return &KeyError{Key: s.fpr, Err: err}
		}
	}
	d.ring = ring.Bytes()
	return nil
}

// keyring returns a copy of the keys and signers for the caller alone,
// who hands it back to d.rings when done.
func (d *Decryptor) keyring() (openpgp.EntityList, error) {
	if ring, ok := d.rings.Get().(*openpgp.EntityList); ok {
		return *ring, nil
	}
	return openpgp.ReadKeyRing(bytes.NewReader(d.ring))
}

// putRing hands a keyring keyring returned back to d.rings. The pool holds
// pointers: a slice put as it is would be copied to the heap each time.
func (d *Decryptor) putRing(ring openpgp.EntityList) { d.rings.Put(&ring) }

// Decrypt returns a reader of the plaintext of the OpenPGP message r holds,
// armored or binary. It decrypts every file it is given: use it alone when
// every file must be encrypted, or behind decrypt.BySuffix or
// decrypt.ByContent to pass plaintext files through.
//
// Decrypt fails at once, reading no plaintext, for a file that is not an
// encrypted OpenPGP message ([ErrNotEncrypted]), one that none of the keys
// can decrypt ([ErrNoKey]), one without integrity protection, one that
// cannot be parsed, and one whose signatures show that no required signer
// signed it ([ErrSignature]). These last three wrap usersync.ErrIntegrity,
// and so does ErrNoKey when the message names one of the keys, which then
// fails to decrypt it: the file was changed.
//
// The reader streams the plaintext as it is decrypted; the message is
// verified when its end is reached. The Read that would return io.EOF
// returns instead an error wrapping usersync.ErrIntegrity if the message
// was changed or cut short (a failed MDC or AEAD tag), or if a signature is
// bad or a required one missing (also wrapping ErrSignature); any earlier
// Read may fail the same way. A plaintext larger than the limit fails with
// a *TooLargeError. Once failed, the reader keeps failing. So nothing read
// from it may be acted on before it returned io.EOF, which is what the
// Pipeline does.
//
// The reader is a usersync.DecryptedReader naming the key that decrypted
// the message. The file name stored inside the message is ignored: it is
// never used, not even as a name.
func (d *Decryptor) Decrypt(ctx context.Context, r io.Reader, f usersync.FileInfo) (_ io.Reader, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	defer recovered(&err)
	body, err := messageBody(r)
	if err != nil {
		return nil, err
	}
	ring, err := d.keyring()
	if err != nil {
		return nil, fmt.Errorf("pgpdecrypt: reading the keys: %w", err)
	}
	md, limit, err := d.open(body, ring, f.Size)
	if err != nil {
		d.putRing(ring)
		return nil, err
	}
	pr := &reader{ctx: ctx, d: d, ring: ring, md: md, limit: limit, fileSize: f.Size}
	if md.IsEncrypted {
		pr.by = d.name(md.DecryptedWith.Entity)
	}
	return pr, nil
}

// open reads a message's header with the keys of ring, for a file of size
// bytes, and returns it and the most plaintext it may have.
func (d *Decryptor) open(body io.Reader, ring openpgp.EntityList, size int64) (*openpgp.MessageDetails, int64, error) {
	limit := d.limit(size)
	rk := &recordingKeyring{EntityList: ring}
	md, err := openpgp.ReadMessage(body, rk, nil, d.config(limit))
	if err != nil {
		return nil, 0, d.messageError(err, rk)
	}
	if !md.IsEncrypted && !d.allowUnencrypted {
		return nil, 0, fmt.Errorf("pgpdecrypt: %w: the message is not encrypted, only signed or stored", ErrNotEncrypted)
	}
	if err := d.checkSigned(md); err != nil {
		return nil, 0, err
	}
	return md, limit, nil
}

// messageBody returns the OpenPGP packets r holds, undoing the armor of
// an armored message.
func messageBody(r io.Reader) (io.Reader, error) {
	// The buffer also spares go-crypto's packet reader many small reads
	// from the Source; armor.Decode reads through it rather than adding
	// its own. It is kept small: the Pipeline sizes its record slice from
	// how much of the file its first rows took, and read-ahead skews that.
	br := bufio.NewReaderSize(r, 8<<10)
	head, err := br.Peek(sniffLen)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if off := armorOffset(head, messageStart); off >= 0 {
		br.Discard(off)
		block, err := armor.Decode(br)
		if err != nil {
			return nil, fmt.Errorf("pgpdecrypt: %w: bad armor: %w", usersync.ErrIntegrity, err)
		}
		return block.Body, nil
	}
	if binaryMessage(head) {
		return br, nil
	}
	if isArmored(head) {
		return nil, fmt.Errorf("pgpdecrypt: %w: the armor holds something else, such as a key", ErrNotEncrypted)
	}
	return nil, fmt.Errorf("pgpdecrypt: %w: the file starts neither with an OpenPGP packet nor with \"%s\"", ErrNotEncrypted, messageStart)
}

// limit returns the most plaintext a file of size bytes may decrypt to.
func (d *Decryptor) limit(size int64) int64 {
	if size < 0 || size > d.maxPlaintext/d.maxExpansion {
		return d.maxPlaintext
	}
	return min(max(size*d.maxExpansion, minPlaintextLimit), d.maxPlaintext)
}

// config returns go-crypto's settings for one message.
func (d *Decryptor) config(limit int64) *packet.Config {
	// go-crypto's own bound on decompression stops what our count of the
	// plaintext cannot see, such as packets after the literal data. It sits
	// above our limit, with room for the packet headers inside the
	// compressed data, so that a bomb meets our clearer error first: in an
	// encrypted message go-crypto reports its own as a parse error.
	guard := limit + limit/64 + 64<<10
	return &packet.Config{Time: d.now, MaxDecompressedMessageSize: &guard}
}

// messageError explains why go-crypto could not open a message; rk says
// which key IDs it was encrypted to.
func (d *Decryptor) messageError(err error, rk *recordingKeyring) error {
	switch {
	case errors.Is(err, pgperrors.ErrKeyIncorrect) && rk.hadKey():
		// One of the keys was asked for, and failed to decrypt the
		// session key: what it was given is not what was encrypted.
		return fmt.Errorf("pgpdecrypt: %w: %w: %s, which is given, but its session key does not decrypt: the file was changed or damaged",
			usersync.ErrIntegrity, ErrNoKey, recipients(rk.asked))
	case errors.Is(err, pgperrors.ErrKeyIncorrect):
		return fmt.Errorf("pgpdecrypt: %w: %s; the keys given are %s", ErrNoKey, recipients(rk.asked), keyNames(d.keys))
	case err == pgperrors.UnsupportedError("message is not integrity protected"):
		return fmt.Errorf("pgpdecrypt: %w: the message has no integrity protection (no MDC): ask the sender to use a current OpenPGP program", usersync.ErrIntegrity)
	}
	return fmt.Errorf("pgpdecrypt: %w: the message is damaged or malformed: %w", usersync.ErrIntegrity, err)
}

// recipients describes the key IDs a message was encrypted to.
func recipients(ids []uint64) string {
	if len(ids) == 0 {
		return "the message is not encrypted to a key (only with a passphrase?)"
	}
	return "it is encrypted to key ID " + keyIDs(ids)
}

// keyIDs formats key IDs as gpg does, in hex.
func keyIDs(ids []uint64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprintf("%016X", id)
		if id == 0 {
			s[i] = "0 (a hidden recipient)"
		}
	}
	return strings.Join(s, ", ")
}

func keyNames(keys []*Key) string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.String()
	}
	return strings.Join(names, ", ")
}

// checkSigned rejects, before any plaintext is read, a message that cannot
// carry a required signature: unsigned, or signed only by other keys.
func (d *Decryptor) checkSigned(md *openpgp.MessageDetails) error {
	if len(d.signers) == 0 {
		return nil
	}
	if !md.IsSigned {
		return d.signatureError("the message is not signed")
	}
	ids := make([]uint64, 0, len(md.SignatureCandidates))
	for _, c := range md.SignatureCandidates {
		if c.SignedByEntity != nil && d.signer[fingerprint(c.SignedByEntity)] {
			return nil
		}
		ids = append(ids, c.IssuerKeyId)
	}
	return d.signatureError(fmt.Sprintf("the message is signed only by key ID %s, not by a required signer", keyIDs(ids)))
}

// verify checks the signatures once the whole message was read: every
// signature by a known key must be good, and one by a required signer must
// be there when signers are required. Signatures by unknown keys are
// ignored, as nothing can be said about them.
func (d *Decryptor) verify(md *openpgp.MessageDetails) error {
	good := false
	for _, c := range md.SignatureCandidates {
		if c.SignedByEntity == nil {
			continue
		}
		if c.SignatureError != nil {
			return d.signatureError(fmt.Sprintf("bad signature by %s: %v", d.name(c.SignedByEntity), c.SignatureError))
		}
		if c.SignedBy != nil && d.signer[fingerprint(c.SignedBy.Entity)] {
			good = true
		}
	}
	if len(d.signers) > 0 && !good {
		return d.signatureError("no good signature by a required signer")
	}
	return nil
}

func (d *Decryptor) signatureError(why string) error {
	if len(d.signers) > 0 {
		why += "; required signers: " + keyNames(d.signers)
	}
	return fmt.Errorf("pgpdecrypt: %w: %w: %s", usersync.ErrIntegrity, ErrSignature, why)
}

func fingerprint(e *openpgp.Entity) string {
	return strings.ToUpper(hex.EncodeToString(e.PrimaryKey.Fingerprint))
}

// name returns the name of one of the keys or signers, as [Key.String]
// gives it; e is from a copy of the keyring.
func (d *Decryptor) name(e *openpgp.Entity) string {
	if e == nil {
		return ""
	}
	if k := d.byFpr[fingerprint(e)]; k != nil {
		return k.String()
	}
	return fingerprint(e)
}

// recovered turns a panic of go-crypto's parser, which crafted input has
// caused before (go-crypto issues 322 and 326), into Decrypt's error. It
// must be deferred directly, for recover to see the panic.
func recovered(err *error) {
	if p := recover(); p != nil {
		*err = parserPanic(p)
	}
}

func parserPanic(p any) error {
	return fmt.Errorf("pgpdecrypt: %w: the message is malformed (the OpenPGP parser panicked: %v)", usersync.ErrIntegrity, p)
}

// recordingKeyring notes the key IDs go-crypto looks up, which for a
// message it cannot decrypt are the recipients' key IDs.
type recordingKeyring struct {
	openpgp.EntityList
	asked []uint64
}

func (k *recordingKeyring) EntitiesById(id uint64) []*openpgp.Entity {
	k.asked = append(k.asked, id)
	return k.EntityList.EntitiesById(id)
}

// hadKey reports whether a key ID asked for, other than the wildcard of a
// hidden recipient, is one of the keys'.
func (k *recordingKeyring) hadKey() bool {
	return slices.ContainsFunc(k.asked, func(id uint64) bool { return id != 0 && len(k.EntityList.EntitiesById(id)) > 0 })
}
