package mailreport_test

import (
	"bytes"
	"fmt"
	"mime"
	"net/mail"
	"time"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/report"
	"github.com/usersync/usersync/report/mailreport"
)

// A Mailer for a customer's nightly feed: HR reads every run, IT only the
// runs that need someone, an approver only held plans.
func Example() {
	m, err := mailreport.New("smtp.acme.example", "usersync <usersync@acme.example>", []mailreport.Recipient{
		{Address: "HR <hr@acme.example>"},
		{Address: "it@acme.example", On: mailreport.OnProblems},
		{Address: "approver@acme.example", On: mailreport.OnPlanHeld},
	}, &mailreport.Options{
		Username: "usersync@acme.example",
		Password: "from the host's secret store",
		Summary:  &report.Options{Name: "Åby skola"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// The Pipeline's Reporter: report.Multi(m, ...). Here, the message of
	// a failed run, as it would be sent.
	start := time.Date(2025, 3, 4, 2, 0, 0, 0, time.UTC)
	s := report.NewSummary(&usersync.Result{Status: usersync.Failed, Started: start, Finished: start.Add(time.Second),
		Err: fmt.Errorf("verify users.csv: %w", usersync.ErrIntegrity)}, &report.Options{Name: "Åby skola"})
	var b bytes.Buffer
	if err := m.WriteMessage(&b, s); err != nil {
		fmt.Println(err)
		return
	}
	msg, _ := mail.ReadMessage(&b)
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	media, _, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	fmt.Println("To:", msg.Header.Get("To"))
	fmt.Println("Subject:", subject)
	fmt.Println("Content-Type:", media)
	// Output:
	// To: "HR" <hr@acme.example>, <it@acme.example>
	// Subject: usersync Åby skola: failed — nothing applied
	// Content-Type: multipart/alternative
}
