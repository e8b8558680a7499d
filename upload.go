package roster

import "time"

// Upload statuses: NEW until a worker picks it up, then IN_PROGRESS, then
// COMPLETED (every row has an outcome) or FAILED (the file as a whole could
// not be processed).
const (
	UploadNew        = "NEW"
	UploadInProgress = "IN_PROGRESS"
	UploadCompleted  = "COMPLETED"
	UploadFailed     = "FAILED"
)

// Row outcomes. VALID is used by dry runs only: the row would be created.
const (
	UploadRowCreated = "CREATED"
	UploadRowFailed  = "FAILED"
	UploadRowValid   = "VALID"
)

// Upload is a row of the upload table: one bulk user upload and its
// progress. FileEnc, the sealed file, is written on insert; reads leave it nil.
type Upload struct {
	ID         string     `json:"id"`
	OrgID      string     `json:"orgId"`
	RootOrgID  string     `json:"rootOrgId"`
	UploadedBy string     `json:"uploadedBy"`
	FileName   string     `json:"fileName"`
	FileSize   int64      `json:"fileSize"`
	Format     string     `json:"format"`
	Columns    []string   `json:"columns"`
	FileEnc    []byte     `json:"-"`
	Status     string     `json:"status"`
	Failure    string     `json:"failure,omitempty"`
	Total      int        `json:"total"`
	Processed  int        `json:"processed"`
	Succeeded  int        `json:"succeeded"`
	Failed     int        `json:"failed"`
	DryRun     bool       `json:"dryRun"`
	CreatedAt  time.Time  `json:"createdAt"`
	UpdatedAt  time.Time  `json:"updatedAt"`
	StartedAt  *time.Time `json:"startedAt,omitempty"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	// ExpiresAt is when a dry run and its rows are deleted; computed by the
	// upload service from its retention, not stored.
	ExpiresAt *time.Time `json:"expiresAt,omitempty" doc:"Dry runs only: when the dry run and its results are deleted"`
}

// UploadRow is the recorded outcome of one data row.
type UploadRow struct {
	UploadID    string       `json:"-"`
	RowNumber   int          `json:"row"`
	Status      string       `json:"status"`
	UserID      string       `json:"userId,omitempty"`
	Errors      []FieldError `json:"errors,omitempty"`
	OriginalEnc []byte       `json:"-"` // sealed JSON of the row's values, password blanked
	CreatedAt   time.Time    `json:"-"`
}
