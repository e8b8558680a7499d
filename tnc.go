package roster

import "time"

// Kinds of terms and conditions, as seed 001 names them: the platform
// terms every user accepts are recorded in tncAcceptedVersion and
// tncAcceptedOn; a role's own terms in allTncAccepted under the kind.
const (
	TncPlatform     = "platform"
	TncOrgAdmin     = "orgAdminTnc"     // users holding ORG_ADMIN
	TncReportViewer = "reportViewerTnc" // users who request reports (course creators)
)

// TncKinds lists every kind in the order pages show them.
var TncKinds = []string{TncPlatform, TncOrgAdmin, TncReportViewer}

// IsTncKind reports whether k is one of TncKinds.
func IsTncKind(k string) bool { return contains(TncKinds, k) }

// TncVersion is one published version of one kind of terms. The current
// version of a kind is the one published last.
type TncVersion struct {
	Kind        string    `json:"kind" enum:"platform,orgAdminTnc,reportViewerTnc"`
	Version     string    `json:"version"`
	URL         string    `json:"url" doc:"Where the text of this version is published"`
	PublishedAt time.Time `json:"publishedAt"`
	PublishedBy string    `json:"-"`
}

// AcceptedTnc is the version of kind u has accepted, or "" when none.
func (u *User) AcceptedTnc(kind string) string {
	if kind == TncPlatform {
		return u.TncAcceptedVersion
	}
	return u.AllTncAccepted[kind].Version
}
