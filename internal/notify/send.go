package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/escalated/escalated/internal/store"
)

// Sender sends one delivery over one kind of channel and reports how it went. It is called
// after the enqueueing transaction committed, possibly more than once for one delivery
// (at-least-once), and from several goroutines at a time.
type Sender interface {
	Send(ctx context.Context, c *Channel, d *store.Delivery) Outcome
}

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, c *Channel, d *store.Delivery) Outcome

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, c *Channel, d *store.Delivery) Outcome {
	return f(ctx, c, d)
}

// Outcome is the result of one attempt.
type Outcome struct {
	// Status is the receiver's HTTP status; 0 when there was no HTTP answer (and for email).
	Status int
	// Err is nil when the delivery was accepted.
	Err error
	// Permanent marks a failure that sending again cannot fix (a 4xx other than 429, a channel
	// without its settings): the delivery is failed at once instead of retried.
	Permanent bool
	// RetryAfter is the receiver's Retry-After header (seconds or an HTTP date), if any.
	RetryAfter string
}

// Delivered is the outcome of an accepted delivery.
func Delivered(status int) Outcome { return Outcome{Status: status} }

// Retry is the outcome of a failure worth trying again.
func Retry(status int, err error) Outcome { return Outcome{Status: status, Err: err} }

// Fail is the outcome of a failure that trying again cannot fix.
func Fail(status int, err error) Outcome { return Outcome{Status: status, Err: err, Permanent: true} }

// errorBodyLimit bounds how much of a failed response's body is kept in the attempt log.
const errorBodyLimit = 256

// NewHTTPClient returns the client webhook and Slack deliveries use: the timeout bounds the
// whole attempt, and redirects are not followed (a POST redirected elsewhere is a
// misconfigured URL, reported as a failure rather than silently resent).
func NewHTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// PostJSON POSTs body to target with header and classifies the answer: 2xx delivered; 429,
// 408 and 5xx retried (with their Retry-After); other statuses failed for good; timeouts and
// connection errors retried. Error texts never contain target, whose path may be a secret (a
// Slack webhook URL is one).
func PostJSON(ctx context.Context, client *http.Client, target string, body []byte, header http.Header) Outcome {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return Fail(0, fmt.Errorf("build request: %v", stripURL(err)))
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "escalated-webhooks/1")
	resp, err := client.Do(req)
	if err != nil {
		return Retry(0, stripURL(err))
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, errorBodyLimit))
	// Drain a little more so the connection can be reused; a huge body is not worth reading.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return Delivered(code)
	case code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500:
		o := Retry(code, statusError(resp, snippet))
		o.RetryAfter = resp.Header.Get("Retry-After")
		return o
	default:
		return Fail(code, statusError(resp, snippet))
	}
}

func statusError(resp *http.Response, snippet []byte) error {
	msg := resp.Status
	if s := strings.TrimSpace(strings.ToValidUTF8(string(snippet), "?")); s != "" {
		msg += ": " + s
	}
	return errors.New("receiver answered " + msg)
}

// stripURL drops the URL that net/http puts in its errors ("Post \"https://...\": dial tcp:
// connection refused" becomes "post: dial tcp: connection refused").
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Errorf("%s: timed out: %v", strings.ToLower(ue.Op), stripURL(ue.Err))
		}
		return fmt.Errorf("%s: %v", strings.ToLower(ue.Op), ue.Err)
	}
	return err
}
