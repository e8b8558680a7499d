package httpapi

import (
	"cmp"
	"context"
	"net/http"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/registry"
)

// Self-declaration (issue 11.2): a self-signed-up teacher declares a state,
// school and teacher id; the school's or the state's admin decides.

type declarationBody struct {
	StateID          string `json:"stateId" maxLength:"64" doc:"The state (tenant) declared for; see GET /states"`
	SchoolID         string `json:"schoolId,omitempty" maxLength:"64" doc:"The school, picked from GET /states/{id}/schools"`
	SchoolExternalID string `json:"schoolExternalId,omitempty" maxLength:"100" doc:"Or the school's external id within the state"`
	TeacherID        string `json:"teacherId" doc:"The teacher id the state knows the teacher by; 1-100 characters, no control characters"`
}

type declarationOutput struct {
	Body *registry.DeclarationView
}

type declarationListOutput struct {
	Body struct {
		Declarations []registry.DeclarationView `json:"declarations"`
		Next         string                     `json:"next,omitempty" doc:"Pass as cursor for the next page; absent on the last page"`
	}
}

type decisionBody struct {
	Reason string `json:"reason,omitempty" doc:"Shown to the teacher; required when rejecting, at most 500 characters"`
}

type bulkDecisionBody struct {
	Decision string   `json:"decision" enum:"approve,reject"`
	Reason   string   `json:"reason,omitempty" doc:"Shown to every teacher decided; required when rejecting, at most 500 characters"`
	IDs      []string `json:"ids" maxItems:"100" doc:"At most 100 declaration ids; each is decided on its own"`
}

// itemErrorBody is why one item of a bulk call was not decided.
type itemErrorBody struct {
	Code    string              `json:"code"`
	Message string              `json:"message"`
	Fields  []roster.FieldError `json:"fields,omitempty"`
}

type decisionItem struct {
	ID     string         `json:"id"`
	Status string         `json:"status,omitempty" doc:"The declaration's new status when it was decided"`
	Error  *itemErrorBody `json:"error,omitempty" doc:"Why it was not decided; the other items are not affected"`
}

type bulkDecisionOutput struct {
	Body struct {
		Results []decisionItem `json:"results"`
	}
}

type schoolListOutput struct {
	Body struct {
		Schools []roster.Organisation `json:"schools"`
		// Next is the cursor of the following page, empty on the last.
		Next string `json:"next,omitempty"`
	}
}

func (s *Server) declarationRoutes() {
	register(s, described(op("listStates", http.MethodGet, "/states", "The states a self-signed-up user can declare for", "declarations"),
		"The states (tenants) a self-signed-up user can declare for."), s.listStates)

	schools := described(op("listStateSchools", http.MethodGet, "/states/{id}/schools", "Page through a state's schools, optionally searching by name", "declarations"),
		"A state's schools, a page at a time, optionally searching by name; follow next for the following page.")
	schools.Errors = append(schools.Errors, http.StatusNotFound)
	register(s, schools, s.listStateSchools)

	declare := described(op("declareSelf", http.MethodPost, "/me/declaration",
		"Declare your state, school and teacher id for the state to approve (replaces a pending declaration)", "declarations"),
		"Declares the state, school and teacher id of a self-signed-up user for the state to review. A new declaration replaces a pending one.")
	declare.DefaultStatus = http.StatusCreated
	declare.Errors = append(declare.Errors, http.StatusConflict)
	register(s, declare, s.declareSelf)

	mine := described(op("myDeclaration", http.MethodGet, "/me/declaration", "Your latest declaration and its decision", "declarations"),
		"Your latest declaration, its status and, once decided, the decision and its reason.")
	mine.Errors = append(mine.Errors, http.StatusNotFound)
	register(s, mine, s.myDeclaration)

	withdraw := described(op("withdrawDeclaration", http.MethodDelete, "/me/declaration", "Withdraw your pending declaration", "declarations"),
		"Withdraws your declaration while it is still pending review.")
	withdraw.DefaultStatus = http.StatusNoContent
	withdraw.Errors = append(withdraw.Errors, http.StatusNotFound)
	register(s, withdraw, s.withdrawDeclaration)

	queue := described(op("listDeclarations", http.MethodGet, "/organisations/{id}/declarations",
		"The declarations of a school (its admins) or of a whole state (its admins), pending ones by default", "declarations"),
		"The review queue: declarations of a school (for its admins) or of a whole state (for the state's admins). Pending ones by default.")
	queue.Errors = append(queue.Errors, http.StatusNotFound)
	register(s, queue, s.listDeclarations)

	approve := described(op("approveDeclaration", http.MethodPost, "/declarations/{id}/approve",
		"Approve a declaration: the teacher joins the state and school, the teacher id becomes their external id", "declarations"),
		"Approves a pending declaration: the teacher joins the state and the school, and the declared teacher id becomes their external id. The teacher is notified.")
	approve.Errors = append(approve.Errors, http.StatusNotFound, http.StatusConflict)
	register(s, approve, s.approveDeclaration)

	reject := described(op("rejectDeclaration", http.MethodPost, "/declarations/{id}/reject", "Reject a declaration with a reason the teacher sees", "declarations"),
		"Rejects a pending declaration; the reason is shown to the teacher, who may declare again.")
	reject.Errors = append(reject.Errors, http.StatusNotFound, http.StatusConflict)
	register(s, reject, s.rejectDeclaration)

	bulk := described(op("decideDeclarations", http.MethodPost, "/organisations/{id}/declarations/decisions",
		"Approve or reject up to 100 declarations of a school or state; each item's outcome is reported", "declarations"),
		"Approves or rejects up to 100 declarations at once; the answer reports each item's outcome, so one bad item does not stop the others.")
	bulk.Errors = append(bulk.Errors, http.StatusNotFound)
	register(s, bulk, s.decideDeclarations)
}

func (s *Server) listStates(ctx context.Context, _ *struct{}) (*orgListOutput, error) {
	states, err := s.reg.States(ctx, caller(ctx))
	if err != nil {
		return nil, err
	}
	out := &orgListOutput{}
	out.Body.Organisations = states
	return out, nil
}

func (s *Server) listStateSchools(ctx context.Context, in *struct {
	ID     string `path:"id" maxLength:"64"`
	Q      string `query:"q" maxLength:"100" doc:"Part of the school's name, any case"`
	Cursor string `query:"cursor" maxLength:"64" doc:"The next of the previous page"`
	Limit  int    `query:"limit" minimum:"0" maximum:"100" doc:"At most 100; 50 when 0"`
}) (*schoolListOutput, error) {
	limit := in.Limit
	if limit == 0 {
		limit = 50
	}
	schools, err := s.reg.StateSchools(ctx, caller(ctx), in.ID, in.Q, in.Cursor, limit)
	if err != nil {
		return nil, err
	}
	out := &schoolListOutput{}
	out.Body.Schools = schools
	if len(schools) == limit {
		last := schools[len(schools)-1].ID
		out.Body.Next, err = nextCursor(last, func() (int, error) {
			more, err := s.reg.StateSchools(ctx, caller(ctx), in.ID, in.Q, last, 1)
			return len(more), err
		})
	}
	return out, err
}

func (s *Server) declareSelf(ctx context.Context, in *struct{ Body declarationBody }) (*declarationOutput, error) {
	b := in.Body
	d, err := s.reg.Declare(ctx, caller(ctx), registry.DeclarationInput{StateID: b.StateID, SchoolID: b.SchoolID,
		SchoolExternalID: b.SchoolExternalID, TeacherID: b.TeacherID})
	if err != nil {
		return nil, err
	}
	return &declarationOutput{Body: d}, nil
}

func (s *Server) myDeclaration(ctx context.Context, _ *struct{}) (*declarationOutput, error) {
	d, err := s.reg.MyDeclaration(ctx, caller(ctx))
	if err != nil {
		return nil, err
	}
	return &declarationOutput{Body: d}, nil
}

func (s *Server) withdrawDeclaration(ctx context.Context, _ *struct{}) (*struct{}, error) {
	return nil, s.reg.WithdrawDeclaration(ctx, caller(ctx))
}

func (s *Server) listDeclarations(ctx context.Context, in *struct {
	ID     string `path:"id" maxLength:"64"`
	Status string `query:"status" enum:"pending,approved,rejected,withdrawn," doc:"pending when empty"`
	Cursor string `query:"cursor" maxLength:"64" doc:"The next of the previous page"`
	Limit  int    `query:"limit" minimum:"0" maximum:"100" doc:"At most 100; 50 when 0"`
}) (*declarationListOutput, error) {
	ds, err := s.reg.Declarations(ctx, caller(ctx), in.ID, in.Status, in.Cursor, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &declarationListOutput{}
	out.Body.Declarations = ds
	if limit := cmp.Or(in.Limit, 50); len(ds) == limit {
		last := ds[len(ds)-1].ID
		out.Body.Next, err = nextCursor(last, func() (int, error) {
			more, err := s.reg.Declarations(ctx, caller(ctx), in.ID, in.Status, last, 1)
			return len(more), err
		})
	}
	return out, err
}

type decisionInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body decisionBody
}

func (s *Server) approveDeclaration(ctx context.Context, in *decisionInput) (*declarationOutput, error) {
	return s.decideOne(ctx, in, true)
}

func (s *Server) rejectDeclaration(ctx context.Context, in *decisionInput) (*declarationOutput, error) {
	return s.decideOne(ctx, in, false)
}

func (s *Server) decideOne(ctx context.Context, in *decisionInput, approve bool) (*declarationOutput, error) {
	d, err := s.reg.DecideDeclaration(ctx, caller(ctx), in.ID, registry.Decision{Approve: approve, Reason: in.Body.Reason})
	if err != nil {
		return nil, err
	}
	// An approval gives the user new grants and a new tenant.
	s.auth.Forget(d.UserID)
	return &declarationOutput{Body: d}, nil
}

func (s *Server) decideDeclarations(ctx context.Context, in *struct {
	ID   string `path:"id" maxLength:"64"`
	Body bulkDecisionBody
}) (*bulkDecisionOutput, error) {
	b := in.Body
	results, err := s.reg.DecideDeclarations(ctx, caller(ctx), in.ID, b.IDs, registry.Decision{Approve: b.Decision == "approve", Reason: b.Reason})
	if err != nil {
		return nil, err
	}
	out := &bulkDecisionOutput{}
	out.Body.Results = make([]decisionItem, 0, len(results))
	for _, r := range results {
		item := decisionItem{ID: r.ID, Status: r.Status}
		if r.UserID != "" {
			s.auth.Forget(r.UserID)
		}
		if r.Error != nil {
			item.Error = &itemErrorBody{Code: r.Error.Code, Message: r.Error.Message, Fields: r.Error.Fields}
		}
		out.Body.Results = append(out.Body.Results, item)
	}
	return out, nil
}
