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
	// Label names an attribute shown beside each user's key, such as
	// "name". The default, "", shows keys only: summaries travel by email,
	// and attribute values are personal data.
	Label string
	// Secrets are values that must never appear in a summary or a log, such
	// as the passwords and passphrases of the host's configuration. Every
	// error message is searched for them. Passwords in URLs
	// ("sftp://user:password@host") are redacted without being listed.
	Secrets []string
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
