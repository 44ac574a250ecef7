package ticket

// Limits of what one request may carry: the table docs/security.md publishes. They keep one
// request from bloating history, which is never deleted; each is checked where the request is
// validated, and a request over one is refused with a field error naming the field, the limit
// and what was sent. The transport's own limits (body and header size, request rate) are in
// internal/httpapi/limits.go.
const (
	// MaxSubject is the bytes of a ticket's subject.
	MaxSubject = 300
	// MaxBody is the bytes of one message's body (and of one transcript line's).
	MaxBody = 64 << 10
	// MaxNote is the bytes of an escalation note, a return reason, a resolution and a handoff
	// note.
	MaxNote = 10000
	// MaxTags is the distinct tags of a ticket; MaxTagLen the bytes of one tag, of an issue
	// type and of a custom field or account attribute name.
	MaxTags   = 50
	MaxTagLen = 64
	// MaxCustomFields is the custom fields of a ticket (and the attributes of an account);
	// MaxCustomFieldValue the bytes of one string value.
	MaxCustomFields     = 50
	MaxCustomFieldValue = 4096
	// MaxNameLen is the bytes of a person's, author's or account's name.
	MaxNameLen = 200
	// MaxIDLen is the bytes of a client-chosen id (customer, account, author, handoff_id).
	MaxIDLen = 128

	// MaxTranscript is the lines of a handoff's transcript: the messages one request may add.
	MaxTranscript = 500
	// MaxBotSteps is the steps of a handoff; MaxBotStepText the bytes of a step's intent or
	// action.
	MaxBotSteps    = 50
	MaxBotStepText = 200
	// MaxRecommendation is the bytes of a handoff's recommendation.
	MaxRecommendation = 2000

	// MaxPolicySize is the bytes of a policy document sent over the API (PUT /v1/policy and
	// POST /v1/policy/check).
	MaxPolicySize = 1 << 20
)
