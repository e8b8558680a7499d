package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// GatewayConfig describes an HTTP SMS gateway the way Indian gateways are
// called: a URL, and for POST a body, with placeholders for the number
// and the text. {number} is the number in E.164 (+919876543210),
// {number10} without + and country code for gateways that want ten digits
// (Indian numbers only), {text} the message.
type GatewayConfig struct {
	URL string // e.g. https://sms.example/send?to={number}&msg={text}
	// Body, when set, makes the request a POST with this body; values are
	// escaped for ContentType (form or JSON string contents).
	Body        string
	ContentType string // default application/x-www-form-urlencoded
	// Authorization is sent as that header when set (ROSTER_SMS_GATEWAY_AUTH).
	Authorization string
	Client        *http.Client
}

// Placeholders in GatewayConfig.URL and Body.
const (
	PlaceholderNumber   = "{number}"
	PlaceholderNumber10 = "{number10}"
	PlaceholderText     = "{text}"
)

// Gateway delivers SMS through an HTTP gateway.
type Gateway struct{ cfg GatewayConfig }

// NewGateway checks cfg and returns the driver.
func NewGateway(cfg GatewayConfig) (*Gateway, error) {
	u, err := url.Parse(strings.NewReplacer(PlaceholderNumber, "", PlaceholderNumber10, "", PlaceholderText, "").Replace(cfg.URL))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("notify: SMS gateway URL must be an absolute http(s) URL")
	}
	if !strings.Contains(cfg.URL+cfg.Body, PlaceholderText) ||
		!(strings.Contains(cfg.URL+cfg.Body, PlaceholderNumber) || strings.Contains(cfg.URL+cfg.Body, PlaceholderNumber10)) {
		return nil, fmt.Errorf("notify: the SMS gateway URL or body must contain %s and %s (or %s)", PlaceholderText, PlaceholderNumber, PlaceholderNumber10)
	}
	if cfg.ContentType == "" {
		cfg.ContentType = "application/x-www-form-urlencoded"
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 15 * time.Second}
	}
	return &Gateway{cfg: cfg}, nil
}

func number10(e164 string) string {
	if strings.HasPrefix(e164, "+91") && len(e164) == 13 {
		return e164[3:]
	}
	return strings.TrimPrefix(e164, "+")
}

func fill(tmpl, to, text string, escape func(string) string) string {
	return strings.NewReplacer(PlaceholderNumber, escape(to), PlaceholderNumber10, escape(number10(to)),
		PlaceholderText, escape(text)).Replace(tmpl)
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// Deliver calls the gateway; any 2xx answer counts as sent.
func (g *Gateway) Deliver(ctx context.Context, to, _, body string) error {
	target := fill(g.cfg.URL, to, body, url.QueryEscape)
	method, payload := http.MethodGet, io.Reader(nil)
	if g.cfg.Body != "" {
		esc := url.QueryEscape
		if strings.Contains(g.cfg.ContentType, "json") {
			esc = jsonString
		}
		method, payload = http.MethodPost, bytes.NewBufferString(fill(g.cfg.Body, to, body, esc))
	}
	req, err := http.NewRequestWithContext(ctx, method, target, payload)
	if err != nil {
		return failed("SMS gateway request could not be built")
	}
	if payload != nil {
		req.Header.Set("Content-Type", g.cfg.ContentType)
	}
	if g.cfg.Authorization != "" {
		req.Header.Set("Authorization", g.cfg.Authorization)
	}
	res, err := g.cfg.Client.Do(req)
	if err != nil {
		// *url.Error quotes the URL, which holds the number and the text.
		return failed("SMS gateway unreachable")
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode/100 != 2 {
		return failed(fmt.Sprintf("SMS gateway answered %d", res.StatusCode))
	}
	return nil
}
