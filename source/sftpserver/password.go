package sftpserver

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// The argon2id parameters HashPassword uses: OWASP's recommendation for
// argon2id (19 MiB, two passes, one lane), which costs a login some tens of
// milliseconds of one core.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonSaltLen = 16
	argonKeyLen  = 32
)

// Bounds on the argon2id parameters a hash may ask for, so that a hash from
// a careless source cannot make each login take a gigabyte.
const (
	maxArgonMemory  = 256 * 1024 // KiB
	maxArgonTime    = 16
	maxArgonThreads = 16
)

// HashPassword returns an argon2id hash of password in the PHC string
// format ("$argon2id$v=19$m=19456,t=2,p=1$salt$hash"), for
// Tenant.PasswordHashes. It fails for an empty password.
func HashPassword(password string) (string, error) {
	if password == "" {
		return "", errors.New("sftpserver: empty password")
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// A passwordHash checks passwords against one stored hash.
type passwordHash interface {
	matches(password []byte) bool
}

// parseHash reads a hash in one of the formats Tenant.PasswordHashes
// allows. Its errors never repeat the hash.
func parseHash(h string) (passwordHash, error) {
	switch {
	case strings.HasPrefix(h, "$argon2id$"):
		return parseArgon2id(h)
	case strings.HasPrefix(h, "$2a$"), strings.HasPrefix(h, "$2b$"), strings.HasPrefix(h, "$2y$"):
		if _, err := bcrypt.Cost([]byte(h)); err != nil {
			return nil, errors.New("malformed bcrypt password hash")
		}
		return bcryptHash(h), nil
	}
	return nil, errors.New("password hash is neither argon2id (PHC format) nor bcrypt")
}

type bcryptHash string

func (h bcryptHash) matches(password []byte) bool {
	return bcrypt.CompareHashAndPassword([]byte(h), password) == nil
}

type argon2idHash struct {
	memory    uint32
	time      uint32
	threads   uint8
	salt, key []byte
}

func parseArgon2id(h string) (*argon2idHash, error) {
	bad := errors.New("malformed argon2id password hash")
	parts := strings.Split(h, "$") // "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 {
		return nil, bad
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return nil, bad
	}
	a := &argon2idHash{}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &a.memory, &a.time, &a.threads); err != nil {
		return nil, bad
	}
	if a.memory == 0 || a.memory > maxArgonMemory || a.time == 0 || a.time > maxArgonTime ||
		a.threads == 0 || a.threads > maxArgonThreads {
		return nil, errors.New("argon2id password hash parameters out of bounds")
	}
	var err1, err2 error
	a.salt, err1 = base64.RawStdEncoding.DecodeString(parts[4])
	a.key, err2 = base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(a.salt) < 8 || len(a.key) < 16 {
		return nil, bad
	}
	return a, nil
}

func (a *argon2idHash) matches(password []byte) bool {
	key := argon2.IDKey(password, a.salt, a.time, a.memory, a.threads, uint32(len(a.key)))
	return subtle.ConstantTimeCompare(key, a.key) == 1
}

// dummyHash is checked when a user name is unknown, so that answering takes
// as long as for a known one and does not tell which names exist.
var dummyHash = &argon2idHash{
	memory: argonMemory, time: argonTime, threads: argonThreads,
	salt: make([]byte, argonSaltLen), key: make([]byte, argonKeyLen),
}
