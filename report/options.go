package report

import (
	"cmp"
	"regexp"
	"slices"
	"strings"
)

// DefaultMaxListed is how many items of each list a [Summary] keeps when
// Options.MaxListed is 0.
const DefaultMaxListed = 20

// Options tune how a run is summarised. A nil *Options means the defaults.
type Options struct {
	// Name names the feed or customer, such as "Acme Corp": it starts the
	// headline ("usersync Acme Corp: succeeded — ...") so that an
	// administrator of several feeds can tell their reports apart.
	Name string
	// MaxListed caps each list of a Summary (the changes of each kind,
	// failed changes, rejected rows): a broken export can reject every
	// row, and a summary of ten thousand lines helps nobody. The CSV
	// attachments hold every item. 0 means DefaultMaxListed.
	MaxListed int
	// Label names an attribute shown beside each user's key and name, such
	// as "department". "" shows none.
	Label string
	// Names are the attributes that name a person, tried in order: the
	// first the user has is shown with the user's key ("Ann Andersson
	// (E1001)"). An entry of several names separated by spaces joins
	// those attributes ("given_name family_name"). nil means DefaultNames.
	Names []string
	// Private names attributes whose values a summary never shows, in
	// addition to those that look like credentials (see IsPrivate): an
	// update of one says only that it changed. Names are matched without
	// regard to case.
	Private []string
	// KeysOnly names users by key alone and shows no attribute value, not
	// even old and new values of an update: for summaries that go where
	// personal data must not.
	KeysOnly bool
	// ApproveCommand and ApproveURL tell an administrator how to approve a
	// held plan: a command to run (such as "usersync approve -c
	// acme.yaml"), or a link to the host's approval page (http or https
	// only). The summary's Action says it; without either, it says to
	// approve the plan with the host's approval step.
	ApproveCommand string
	ApproveURL     string
	// Secrets are values that must never appear in a summary or a log, such
	// as the passwords and passphrases of the host's configuration. Every
	// error message is searched for them. Passwords in URLs
	// ("sftp://user:password@host") are redacted without being listed.
	Secrets []string
}

// DefaultNames are the attributes that name a person when Options.Names
// is nil, as directory exports and SCIM spell them.
var DefaultNames = []string{
	"name", "display_name", "displayName", "displayname", "full_name", "fullName", "fullname", "cn",
	"first_name last_name", "firstName lastName", "firstname lastname",
	"given_name family_name", "givenName familyName", "givenName sn", "given_name surname",
}

// IsPrivate reports whether the values of the attribute named attr are
// never shown: it is listed in private, or its name says it holds a
// credential (it contains "password", "passwd", "secret", "token",
// "pin_code" or "api_key", in any case).
func IsPrivate(attr string, private []string) bool {
	for _, p := range private {
		if strings.EqualFold(p, attr) {
			return true
		}
	}
	a := strings.ToLower(attr)
	for _, w := range []string{"password", "passwd", "secret", "token", "pin_code", "pincode", "api_key", "apikey"} {
		if strings.Contains(a, w) {
			return true
		}
	}
	return false
}

func (o *Options) maxListed() int {
	if o == nil || o.MaxListed <= 0 {
		return DefaultMaxListed
	}
	return o.MaxListed
}

// Redacted replaces a secret in text.
const Redacted = "[REDACTED]"

// urlPassword matches the password of a URL's user info:
// "scheme://user:password@".
var urlPassword = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^\s/@:]*):[^\s/@]*@`)

// A redactor removes secrets from text.
type redactor struct {
	r *strings.Replacer // nil when there are no secrets
}

func newRedactor(secrets []string) redactor {
	// Longer secrets first, so that one that contains another is replaced
	// whole.
	secrets = slices.SortedFunc(slices.Values(secrets), func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	var pairs []string
	for _, s := range secrets {
		if s != "" {
			pairs = append(pairs, s, Redacted)
		}
	}
	if len(pairs) == 0 {
		return redactor{}
	}
	return redactor{strings.NewReplacer(pairs...)}
}

// redact returns s without the secrets and without URL passwords.
func (rd redactor) redact(s string) string {
	if rd.r != nil {
		s = rd.r.Replace(s)
	}
	if strings.Contains(s, "://") {
		s = urlPassword.ReplaceAllString(s, "${1}:"+Redacted+"@")
	}
	return s
}
