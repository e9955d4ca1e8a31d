package report

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/usersync/usersync"
)

// WriteJSON writes a Summary as indented JSON, with the stable field names
// the Summary documents, for a host's API or admin page. [Summary.UnmarshalJSON]
// reads it back.
func WriteJSON(w io.Writer, s *Summary) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// UnmarshalJSON decodes a Summary written by WriteJSON or json.Marshal. A
// decoded Summary lists what the original listed; its CSV attachments hold
// those items only.
func (s *Summary) UnmarshalJSON(b []byte) error {
	type fields Summary // without this method
	aux := struct {
		*fields
		Status statusText `json:"status"` // shadows fields.Status
	}{fields: (*fields)(s)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	s.Status = usersync.Status(aux.Status)
	s.all = nil
	return nil
}

// statusText decodes a Status from its name, which usersync.Status cannot
// do itself.
type statusText usersync.Status

// UnmarshalText finds the status whose name is b.
func (st *statusText) UnmarshalText(b []byte) error {
	s, err := parseStatus(string(b))
	*st = statusText(s)
	return err
}

// parseStatus returns the Status whose String is name.
func parseStatus(name string) (usersync.Status, error) {
	for s := range usersync.Status(64) {
		if s > 0 && s.String() == name {
			return s, nil
		}
	}
	return 0, fmt.Errorf("report: unknown run status %q", name)
}

// timingsJSON is the JSON form of Timings: whole milliseconds.
type timingsJSON struct {
	Total int64 `json:"total_ms"`
	Read  int64 `json:"read_ms"`
	Plan  int64 `json:"plan_ms"`
	Apply int64 `json:"apply_ms"`
}

// MarshalJSON writes the timings as total_ms, read_ms, plan_ms and
// apply_ms.
func (t Timings) MarshalJSON() ([]byte, error) {
	return json.Marshal(timingsJSON{t.Total.Milliseconds(), t.Read.Milliseconds(),
		t.Plan.Milliseconds(), t.Apply.Milliseconds()})
}

// UnmarshalJSON reads timings written by MarshalJSON.
func (t *Timings) UnmarshalJSON(b []byte) error {
	var j timingsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*t = Timings{ms(j.Total), ms(j.Read), ms(j.Plan), ms(j.Apply)}
	return nil
}

func ms(n int64) time.Duration { return time.Duration(n) * time.Millisecond }
