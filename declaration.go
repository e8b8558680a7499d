package roster

import "time"

// Declaration statuses. Only a pending declaration can be decided or
// withdrawn; the others are its history.
const (
	DeclarationPending   = "pending"
	DeclarationApproved  = "approved"
	DeclarationRejected  = "rejected"
	DeclarationWithdrawn = "withdrawn"
)

// IDTypeDeclaredTeacher is the idType of the external identity an approved
// declaration gives its user; the provider is the state's channel.
const IDTypeDeclaredTeacher = "declared-teacher-id"

// Declaration is a self-signed-up teacher's claim to belong to a state's
// school with a teacher id, waiting for the state's decision (seed 001's
// self-declared association, associationType 2). TeacherID is plaintext
// in memory only.
type Declaration struct {
	ID          string     `json:"id"`
	UserID      string     `json:"userId"`
	TenantID    string     `json:"stateId"`
	OrgID       string     `json:"schoolId"`
	TeacherID   string     `json:"teacherId,omitempty"`
	Status      string     `json:"status" enum:"pending,approved,rejected,withdrawn"`
	Reason      string     `json:"reason,omitempty"`
	CreatedDate time.Time  `json:"createdDate"`
	DecidedBy   string     `json:"decidedBy,omitempty"`
	DecidedDate *time.Time `json:"decidedDate,omitempty"`
}
