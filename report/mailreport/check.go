package mailreport

import (
	"context"
	"fmt"

	gomail "github.com/wneessen/go-mail"

	"github.com/usersync/usersync"
)

// Check checks the setup for an administrator, as a "Send test email"
// button would without sending one: it connects to the server, secures the
// connection as Options.TLS says (verifying the certificate), and logs in
// if Options.Username is set, then says goodbye. It reports one result,
// since the server is asked all of it in one conversation, and changes
// nothing. It does not retry.
func (m *Mailer) Check(ctx context.Context) []usersync.CheckResult {
	r := usersync.CheckResult{Name: fmt.Sprintf("SMTP server %s:%d", m.host, m.opts.Port)}
	c, err := gomail.NewClient(m.host, m.clientOptions()...)
	if err == nil {
		err = c.DialWithContext(ctx)
	}
	if err != nil {
		r.Err = err
		return []usersync.CheckResult{r}
	}
	defer c.Close()
	r.Detail = [...]string{StartTLS: "connected with STARTTLS", ImplicitTLS: "connected over TLS",
		Plaintext: "connected without TLS"}[m.opts.TLS]
	if m.opts.Username != "" {
		r.Detail += ", logged in as " + m.opts.Username
	}
	return []usersync.CheckResult{r}
}
