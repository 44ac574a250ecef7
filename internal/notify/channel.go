package notify

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/policy"
)

// Channel types.
const (
	TypeWebhook = "webhook"
	TypeSlack   = "slack"
	TypeEmail   = "email"
)

// Channel is one entry of the policy's channels section: where notifications go.
type Channel struct {
	ID   string
	Type string
	// URL is the receiver of a webhook or a Slack incoming webhook.
	URL string
	// SecretEnv names the environment variable holding a webhook's signing secret. The secret
	// itself never appears in the policy, the database or a log.
	SecretEnv string
	// To are an email channel's recipients.
	To []string
	// Events are the event types the channel receives; nil means every event type.
	// notification.requested is never broadcast: a rule's notify action names its channel.
	Events []string
}

// Wants reports whether the channel receives every event of type typ.
func (c *Channel) Wants(typ string) bool {
	if typ == escalated.EventNotificationRequested {
		return false
	}
	return c.Events == nil || slices.Contains(c.Events, typ)
}

// EventTypes are the event types a channel may list under events: every history event type.
var EventTypes = []string{
	escalated.EventTicketCreated, escalated.EventTicketUpdated, escalated.EventMessageAdded,
	escalated.EventEscalationCreated, escalated.EventEscalationAcknowledged, escalated.EventEscalationReturned,
	escalated.EventEscalationResolved, escalated.EventEscalationEscalated, escalated.EventHandoffReceived,
	escalated.EventSLAWarning, escalated.EventSLABreached, escalated.EventEscalationUnacknowledged,
	escalated.EventRuleFired,
}

var channelKeys = []string{"id", "type", "url", "secret_env", "to", "events", "name"}

// ParseChannels compiles the policy's channels section. Problems come back as a
// *policy.ErrorList positioned at the offending node, all of them at once.
func ParseChannels(p *policy.Policy) ([]Channel, error) {
	if p == nil || p.Channels == nil {
		return nil, nil
	}
	var errs policy.ErrorList
	fail := func(n *yaml.Node, format string, args ...any) {
		errs = append(errs, &policy.Error{Line: n.Line, Column: n.Column, Msg: fmt.Sprintf(format, args...)})
	}
	var out []Channel
	for i, n := range p.Channels.Content {
		path := fmt.Sprintf("channels[%d]", i)
		if n.Kind != yaml.MappingNode {
			fail(n, "%s: must be a channel mapping with keys %s", path, strings.Join(channelKeys, ", "))
			continue
		}
		var c Channel
		vals := map[string]*yaml.Node{}
		for j := 0; j+1 < len(n.Content); j += 2 {
			k, v := n.Content[j], n.Content[j+1]
			if !slices.Contains(channelKeys, k.Value) {
				fail(k, "unknown key %q in channel (allowed: %s)", k.Value, strings.Join(channelKeys, ", "))
				continue
			}
			vals[k.Value] = v
		}
		str := func(key string) string {
			v := vals[key]
			if v == nil || v.Tag == "!!null" {
				return ""
			}
			if v.Kind != yaml.ScalarNode {
				fail(v, "%s.%s: must be a single value", path, key)
				return ""
			}
			return strings.TrimSpace(v.Value)
		}
		list := func(key string) ([]string, bool) {
			v := vals[key]
			if v == nil || v.Tag == "!!null" {
				return nil, false
			}
			if v.Kind == yaml.ScalarNode {
				return []string{strings.TrimSpace(v.Value)}, true
			}
			if v.Kind != yaml.SequenceNode {
				fail(v, "%s.%s: must be a list", path, key)
				return nil, true
			}
			out := []string{}
			for _, it := range v.Content {
				if it.Kind != yaml.ScalarNode {
					fail(it, "%s.%s: items must be single values", path, key)
					continue
				}
				out = append(out, strings.TrimSpace(it.Value))
			}
			return out, true
		}
		c.ID, c.Type, c.URL, c.SecretEnv = str("id"), str("type"), str("url"), str("secret_env")
		if c.ID == "" {
			// The policy parser already reported a channel without an id.
			continue
		}
		path = "channel " + c.ID
		at := func(key string) *yaml.Node {
			if v := vals[key]; v != nil {
				return v
			}
			return n
		}
		switch c.Type {
		case TypeWebhook, TypeSlack:
			if u, err := url.Parse(c.URL); c.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				fail(at("url"), "%s: url must be an http:// or https:// URL, got %q", path, c.URL)
			}
			if c.Type == TypeWebhook && c.SecretEnv == "" {
				fail(n, "%s: secret_env is required: the name of the environment variable holding the signing secret", path)
			}
		case TypeEmail:
			to, _ := list("to")
			for _, addr := range to {
				if !strings.Contains(addr, "@") || strings.ContainsAny(addr, " <>\r\n") {
					fail(at("to"), "%s: %q is not an email address", path, addr)
				}
			}
			if len(to) == 0 {
				fail(at("to"), "%s: to is required: the recipients' email addresses", path)
			}
			c.To = to
		case "":
			fail(n, "%s: type is required (one of webhook, slack, email)", path)
		default:
			fail(at("type"), "%s: unknown type %q (allowed: webhook, slack, email)", path, c.Type)
		}
		if evs, set := list("events"); set {
			c.Events = []string{}
			for _, e := range evs {
				if !slices.Contains(EventTypes, e) {
					fail(at("events"), "%s: unknown event %q (allowed: %s)", path, e, strings.Join(EventTypes, ", "))
					continue
				}
				c.Events = append(c.Events, e)
			}
		}
		out = append(out, c)
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
