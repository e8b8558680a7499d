package sunbird

import (
	"context"
	"net/http"
	"strings"

	"github.com/roster-dev/roster"
)

// Consent: Sunbird-Lern/userorg-service
// controller/app/controllers/usermanagement/UserConsentController.java,
// validator/UserConsentRequestValidator.java and
// service/…/UserConsentServiceImpl.java, onto Roster's consent ledger
// (internal/course). The portal's global-consent-pii.component.ts sends
// consumerId = the course's channel and objectId = the course id.

// Sunbird's consent statuses. DELETED has no ledger entry of its own in
// Roster: it is recorded as a withdrawal (REVOKED), the reading that
// shares nothing, and reads then answer REVOKED (docs/sunbird.md).
const consentDeleted = "DELETED"

// Consent errors in Sunbird's words and keys.
const (
	keyInvalidConsentStatus = "0026"
	msgInvalidConsentStatus = "Consent status is invalid"
	msgInvalidConsumer      = "Please provide valid organisationid."
	keyConsentNotFound      = "USER_CONSENT_NOT_FOUND"
	msgConsentNotFound      = "Requested user consent resource not found"
	msgConsentUpdated       = "User Consent updated successfully."
	maxConsentField         = 100
)

func (s *Server) consentRoutes() {
	if s.cfg.Courses == nil {
		return
	}
	s.route(http.MethodPost, v1, "/user/consent/update", "api.user.consent.update", s.updateConsent)
	s.route(http.MethodPost, []string{"/v1", "/v2"}, "/user/consent/read", "api.user.consent.read", s.readConsent)
}

type consentBody struct {
	Status     string `json:"status"`
	UserID     string `json:"userId"`
	ConsumerID string `json:"consumerId"`
	ObjectID   string `json:"objectId"`
	ObjectType string `json:"objectType"`
}

// consentCourse resolves objectId to a course and checks that consumerId
// names its tenant, by id or channel; Sunbird refuses an unknown consumer
// with key 0019.
func (s *Server) consentCourse(ctx context.Context, p *roster.Principal, consumerID, objectID string) (*roster.Course, error) {
	c, err := s.cfg.Courses.GetCourse(ctx, p, objectID)
	if err != nil {
		return nil, err
	}
	if consumerID != c.RootOrgID && !strings.EqualFold(consumerID, c.Channel) {
		return nil, &sunbirdError{status: http.StatusBadRequest, key: keyInvalidParameter, msg: msgInvalidConsumer}
	}
	return c, nil
}

func bounded(fields map[string]string) error {
	for name, v := range fields {
		if v == "" {
			return mandatory(name)
		}
		if len(v) > maxConsentField {
			return &sunbirdError{status: http.StatusBadRequest, key: keyInvalidParameter, msg: sprintf("Invalid value for %s.", name)}
		}
	}
	return nil
}

func (s *Server) updateConsent(ctx context.Context, p *roster.Principal, r *http.Request) (any, error) {
	var in struct {
		Consent *consentBody `json:"consent"`
	}
	if err := readRequest(r, &in); err != nil {
		return nil, err
	}
	if in.Consent == nil {
		return nil, mandatory("consent")
	}
	c := in.Consent
	if c.UserID == "" {
		c.UserID = p.UserID // Sunbird takes the requester when userId is absent
	}
	// Checked in the validator's order, so the first missing field is named.
	for _, f := range []struct{ name, v string }{{"status", c.Status}, {"consumerId", c.ConsumerID}, {"objectId", c.ObjectID}, {"userId", c.UserID}} {
		if err := bounded(map[string]string{f.name: strings.TrimSpace(f.v)}); err != nil {
			return nil, err
		}
	}
	// Case-sensitive, as UserConsentRequestValidator compares.
	status := c.Status
	switch status {
	case roster.ConsentActive, roster.ConsentRevoked:
	case consentDeleted:
		status = roster.ConsentRevoked
	default:
		return nil, &sunbirdError{status: http.StatusBadRequest, key: keyInvalidConsentStatus, msg: msgInvalidConsentStatus}
	}
	course, err := s.consentCourse(ctx, p, strings.TrimSpace(c.ConsumerID), strings.TrimSpace(c.ObjectID))
	if err != nil {
		return nil, err
	}
	if _, err := s.cfg.Courses.RecordConsent(ctx, p, courseConsent(c.UserID, course.ID, status)); err != nil {
		return nil, err
	}
	return map[string]any{"consent": map[string]string{"userId": c.UserID}, "message": msgConsentUpdated}, nil
}

type sbConsent struct {
	ID            string   `json:"id"`
	UserID        string   `json:"userId"`
	ConsumerID    string   `json:"consumerId"`
	ObjectID      string   `json:"objectId"`
	ConsumerType  string   `json:"consumerType"`
	ObjectType    string   `json:"objectType"`
	Status        string   `json:"status"`
	Expiry        *string  `json:"expiry"`
	Categories    []string `json:"categories"`
	CreatedOn     int64    `json:"createdOn"`
	LastUpdatedOn int64    `json:"lastUpdatedOn"`
}

func (s *Server) readConsent(ctx context.Context, p *roster.Principal, r *http.Request) (any, error) {
	var in struct {
		Consent *struct {
			Filters *consentBody `json:"filters"`
		} `json:"consent"`
	}
	if err := readRequest(r, &in); err != nil {
		return nil, err
	}
	if in.Consent == nil || in.Consent.Filters == nil {
		return nil, mandatory("filters")
	}
	f := in.Consent.Filters
	for _, x := range []struct{ name, v string }{{"userId", f.UserID}, {"consumerId", f.ConsumerID}, {"objectId", f.ObjectID}} {
		if err := bounded(map[string]string{x.name: strings.TrimSpace(x.v)}); err != nil {
			return nil, err
		}
	}
	course, err := s.consentCourse(ctx, p, strings.TrimSpace(f.ConsumerID), strings.TrimSpace(f.ObjectID))
	if err != nil {
		return nil, err
	}
	history, err := s.cfg.Courses.ConsentHistory(ctx, p, strings.TrimSpace(f.UserID), course.ID)
	if err != nil {
		return nil, err
	}
	if len(history) == 0 {
		return nil, &sunbirdError{status: http.StatusNotFound, key: keyConsentNotFound, msg: msgConsentNotFound}
	}
	first, last := history[0], history[len(history)-1]
	// One row per (user, consumer, object), as Sunbird's user_consent
	// table keys it; the latest decision is in force.
	return map[string]any{"consents": []sbConsent{{
		ID:     "usr-consent:" + last.UserID + ":" + f.ConsumerID + ":" + last.ObjectID,
		UserID: last.UserID, ConsumerID: f.ConsumerID, ObjectID: last.ObjectID, ConsumerType: "ORGANISATION",
		ObjectType: last.ObjectType, Status: last.Status, Categories: []string{},
		CreatedOn: first.At.UnixMilli(), LastUpdatedOn: last.At.UnixMilli(),
	}}}, nil
}
