package roster

import "time"

// Report request statuses.
const (
	ReportSubmitted  = "SUBMITTED"
	ReportProcessing = "PROCESSING"
	ReportSuccess    = "SUCCESS"
	ReportFailed     = "FAILED"
	ReportExpired    = "EXPIRED" // the file was deleted after the retention period
)

// Report kinds and output formats. The report package says what each
// kind holds; these are the stored names. Requests made before kinds
// existed are the exhaust, as CSV.
const (
	ReportUserProfileExhaust = "user-profile-exhaust"
	// ReportSunbirdUserInfo is the same report in the columns and value
	// formats of Sunbird's own userinfo-exhaust job.
	ReportSunbirdUserInfo = "sunbird-userinfo-exhaust"
	ReportCSV             = "csv"
)

// ReportRequest is an on-demand report of a course batch, or of every
// batch of the course when BatchID is empty.
type ReportRequest struct {
	ID            string     `json:"id"`
	Kind          string     `json:"kind" enum:"user-profile-exhaust"`
	Format        string     `json:"format" enum:"csv"`
	CourseID      string     `json:"courseId"`
	BatchID       string     `json:"batchId,omitempty"`
	RequestedBy   string     `json:"requestedBy"`
	Status        string     `json:"status" enum:"SUBMITTED,PROCESSING,SUCCESS,FAILED,EXPIRED"`
	Failure       string     `json:"failure,omitempty"` // plain English, safe to show
	TotalRows     int64      `json:"totalRows"`
	ConsentedRows int64      `json:"consentedRows"`
	FilePath      string     `json:"-"`
	FileSize      int64      `json:"fileSize,omitempty"`
	RequestedAt   time.Time  `json:"requestedAt"`
	StartedAt     *time.Time `json:"startedAt,omitempty"`
	FinishedAt    *time.Time `json:"finishedAt,omitempty"`
	ExpiresAt     *time.Time `json:"expiresAt,omitempty"`
}

// ReportPolicy is a tenant's narrowing of the personal fields a User Profile
// Exhaust shares on consent, for self-signed-up and for validated users.
type ReportPolicy struct {
	RootOrgID   string
	SSUFields   []string
	SSOFields   []string
	UpdatedBy   string
	UpdatedDate time.Time
}
