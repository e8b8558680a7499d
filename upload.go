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

// Row outcomes. VALID is used by dry runs only: the row would be created
// or update its user (Action says which).
const (
	UploadRowCreated = "CREATED"
	UploadRowUpdated = "UPDATED"
	UploadRowFailed  = "FAILED"
	UploadRowValid   = "VALID"
)

// Upload modes (issue 12.3): create only new users (the default), update
// only existing ones, or upsert: update the row's user when it exists and
// create it otherwise.
const (
	UploadModeCreate = "create"
	UploadModeUpdate = "update"
	UploadModeUpsert = "upsert"
)

// Row actions: what a row does, or would do in a dry run.
const (
	RowActionCreate    = "create"
	RowActionUpdate    = "update"
	RowActionUnchanged = "unchanged"
)

// FieldChange is one field a row changes, old and new as the admin may
// see them: contacts, DOB and external ids masked, names in clear.
type FieldChange struct {
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

// Upload is a row of the upload table: one bulk user upload and its
// progress. FileEnc, the sealed file, is written on insert; reads leave it nil.
type Upload struct {
	ID         string   `json:"id"`
	OrgID      string   `json:"orgId"`
	RootOrgID  string   `json:"rootOrgId"`
	UploadedBy string   `json:"uploadedBy"`
	FileName   string   `json:"fileName"`
	FileSize   int64    `json:"fileSize"`
	Format     string   `json:"format" enum:"csv,xlsx"`
	Columns    []string `json:"columns"`
	FileEnc    []byte   `json:"-"`
	Status     string   `json:"status" enum:"NEW,IN_PROGRESS,COMPLETED,FAILED"`
	Failure    string   `json:"failure,omitempty"`
	Total      int      `json:"total"`
	Processed  int      `json:"processed"`
	Succeeded  int      `json:"succeeded"`
	Failed     int      `json:"failed"`
	DryRun     bool     `json:"dryRun"`
	Mode       string   `json:"mode" enum:"create,update,upsert"`
	// Confirmed is set when the admin went past the change threshold.
	Confirmed  bool       `json:"confirmed"`
	CreatedAt  time.Time  `json:"createdAt"`
	UpdatedAt  time.Time  `json:"updatedAt"`
	StartedAt  *time.Time `json:"startedAt,omitempty"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	// ExpiresAt is when a dry run and its rows are deleted; computed by the
	// upload service from its retention, not stored.
	ExpiresAt *time.Time `json:"expiresAt,omitempty" doc:"Dry runs only: when the dry run and its results are deleted"`
	// Threshold is the change threshold's verdict on an update or upsert
	// file; computed on submit and dry run, not stored.
	Threshold *UploadThreshold `json:"threshold,omitempty" doc:"Update and upsert only: how many of the organisation's users the file changes or blocks, against the threshold"`
}

// UploadThreshold is how much of an organisation an update upload changes.
type UploadThreshold struct {
	Changed  int  `json:"changed" doc:"Users the file would change or block"`
	OrgUsers int  `json:"orgUsers" doc:"Members of the organisation"`
	Percent  int  `json:"percent" doc:"The threshold: more than this percentage of the members needs confirm=true"`
	Exceeded bool `json:"exceeded" doc:"The file changes more than the threshold allows"`
}

// UploadRow is the recorded outcome of one data row.
type UploadRow struct {
	UploadID    string        `json:"-"`
	RowNumber   int           `json:"row"`
	Status      string        `json:"status" enum:"CREATED,UPDATED,FAILED,VALID"`
	UserID      string        `json:"userId,omitempty"`
	Errors      []FieldError  `json:"errors,omitempty"`
	Action      string        `json:"action,omitempty" enum:"create,update,unchanged" doc:"What the row did, or would do in a dry run"`
	Changes     []FieldChange `json:"changes,omitempty" doc:"Fields the row changes, old and new, personal values masked"`
	OriginalEnc []byte        `json:"-"` // sealed JSON of the row's values, password blanked
	CreatedAt   time.Time     `json:"-"`
}
