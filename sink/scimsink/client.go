package scimsink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/usersync/usersync"
)

// An HTTPError is a response the server refused a request with.
type HTTPError struct {
	Method   string
	Path     string // relative to the base URL, without the query
	Status   int
	ScimType string // SCIM's error type: uniqueness, invalidValue, ...
	Detail   string
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("scimsink: %s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.ScimType != "" {
		msg += " (" + e.ScimType + ")"
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Unwrap returns usersync.ErrNotFound for a 404.
func (e *HTTPError) Unwrap() error {
	if e.Status == http.StatusNotFound {
		return usersync.ErrNotFound
	}
	return nil
}

// conflict reports whether err is a 409: the resource exists already (a
// uniqueness error), or a reference is missing.
func conflict(err error) bool {
	var he *HTTPError
	return errors.As(err, &he) && he.Status == http.StatusConflict
}

// preconditionFailed reports whether err is a 412: the resource changed
// since its version was read.
func preconditionFailed(err error) bool {
	var he *HTTPError
	return errors.As(err, &he) && he.Status == http.StatusPreconditionFailed
}

// noTarget reports whether err says a PATCH found nothing to change.
func noTarget(err error) bool {
	var he *HTTPError
	return errors.As(err, &he) && he.Status == http.StatusBadRequest && he.ScimType == "noTarget"
}

// errAmbiguous marks a POST whose outcome is unknown: the connection broke
// or the server failed after it may have created the resource. The caller
// looks before it creates again, so nothing is created twice.
var errAmbiguous = errors.New("scimsink: the outcome of the request is unknown")

// client sends SCIM requests with timeouts, retries and backoff.
type client struct {
	base    string
	hc      *http.Client
	token   string
	timeout time.Duration
	tries   int
	wait    time.Duration
	maxWait time.Duration
	log     *slog.Logger
}

// response is a decoded response.
type response struct {
	status int
	etag   string
	body   []byte
}

// do sends a request with body encoded as JSON (nil sends none), and
// returns the response of a 2xx status. It retries 429 and 503 after the
// Retry-After the server gives, or with exponential backoff; it retries
// other 5xx statuses and broken connections too, except for a POST, whose
// outcome it reports as errAmbiguous. Other statuses are an *HTTPError.
func (c *client) do(ctx context.Context, method, path string, query url.Values, body any, ifMatch string) (*response, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = marshal(body); err != nil {
			return nil, fmt.Errorf("scimsink: %s %s: %w", method, path, err)
		}
	}
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	wait := c.wait
	for try := 1; ; try++ {
		resp, err := c.once(ctx, method, u, payload, ifMatch)
		var retryAfter time.Duration
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, fmt.Errorf("scimsink: %s %s: %w", method, path, ctx.Err())
		case err != nil && method == http.MethodPost:
			return nil, fmt.Errorf("scimsink: %s %s: %w: %w", method, path, errAmbiguous, err)
		case err != nil:
			// a broken connection or a timeout: try again
		case resp.status == http.StatusTooManyRequests || resp.status == http.StatusServiceUnavailable:
			retryAfter = parseRetryAfter(resp.header, time.Now())
			err = c.httpError(method, path, resp)
		case transient(resp.status) && method == http.MethodPost:
			return nil, fmt.Errorf("%w: %w", errAmbiguous, c.httpError(method, path, resp))
		case transient(resp.status):
			err = c.httpError(method, path, resp)
		case resp.status >= 300:
			return nil, c.httpError(method, path, resp)
		default:
			return &response{status: resp.status, etag: resp.header.Get("ETag"), body: resp.body}, nil
		}
		if try >= c.tries {
			return nil, err
		}
		d := retryAfter
		if d <= 0 {
			d = time.Duration(float64(wait) * (0.8 + 0.4*rand.Float64()))
			wait = min(2*wait, c.maxWait)
		}
		d = min(d, c.maxWait)
		c.log.LogAttrs(ctx, slog.LevelWarn, "scimsink: retrying", slog.String("method", method),
			slog.String("path", path), slog.Any("error", err), slog.Duration("wait", d), slog.Int("try", try))
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("scimsink: %s %s: %w", method, path, ctx.Err())
		case <-t.C:
		}
	}
}

// transient reports whether a status may go away by itself: 500, 502 and
// 504 (429 and 503 are handled before).
func transient(status int) bool {
	return status == http.StatusInternalServerError || status == http.StatusBadGateway || status == http.StatusGatewayTimeout
}

type rawResponse struct {
	status int
	header http.Header
	body   []byte
}

// once sends one request under the per-request timeout.
func (c *client) once(ctx context.Context, method, u string, payload []byte, ifMatch string) (*rawResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/scim+json, application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	return &rawResponse{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

func (c *client) httpError(method, path string, resp *rawResponse) error {
	e := &HTTPError{Method: method, Path: path, Status: resp.status}
	var body struct {
		ScimType string `json:"scimType"`
		Detail   string `json:"detail"`
	}
	if json.Unmarshal(resp.body, &body) == nil {
		e.ScimType, e.Detail = body.ScimType, body.Detail
	}
	return e
}

// parseRetryAfter reads a Retry-After header: seconds, or an HTTP date.
func parseRetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return t.Sub(now)
	}
	return 0
}

// marshal encodes v as JSON without escaping <, > and &.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// decode decodes a JSON body into a resource.
func decode(b []byte) (resource, error) {
	var r resource
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("scimsink: decoding a response: %w", err)
	}
	return r, nil
}
