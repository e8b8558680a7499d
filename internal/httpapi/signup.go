package httpapi

import (
	"context"
	"net/http"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/signup"
)

// signUpBody is a sign-up form. Lengths here only bound the work; the
// rules are the registry's rule book (docs/UPLOADS.md).
type signUpBody struct {
	FirstName   string `json:"firstName,omitempty" maxLength:"300"`
	LastName    string `json:"lastName,omitempty" maxLength:"300"`
	Email       string `json:"email,omitempty" maxLength:"320" doc:"email or phone: the code goes there"`
	Phone       string `json:"phone,omitempty" maxLength:"40"`
	Password    string `json:"password,omitempty" maxLength:"1024" format:"password"`
	YearOfBirth string `json:"yearOfBirth,omitempty" maxLength:"10" doc:"YYYY; under 18 only a signed-in parent signs up (POST /signup/child)"`
	State       string `json:"state,omitempty" maxLength:"100" doc:"code of a state from GET /locations?type=state"`
	District    string `json:"district,omitempty" maxLength:"100" doc:"code of a district of that state"`
	TncVersion  string `json:"tncAcceptedVersion,omitempty" maxLength:"64" doc:"the platform terms version the user accepted: GET /signup/config"`
}

type signUpInput struct {
	Body signUpBody
}

type signUpOutput struct {
	Body struct {
		Message  string `json:"message"`
		UserID   string `json:"userId,omitempty" doc:"a managed child only"`
		Username string `json:"userName,omitempty" doc:"a managed child only: the child signs in with it"`
	}
}

type contactBody struct {
	Email string `json:"email,omitempty" maxLength:"320"`
	Phone string `json:"phone,omitempty" maxLength:"40"`
}

type resendInput struct {
	Body contactBody
}

type verifyInput struct {
	Body struct {
		Email    string `json:"email,omitempty" maxLength:"320"`
		Phone    string `json:"phone,omitempty" maxLength:"40"`
		Password string `json:"password,omitempty" maxLength:"1024" format:"password"`
		Code     string `json:"code,omitempty" maxLength:"16"`
	}
}

type verifyOutput struct {
	Body struct {
		Message string `json:"message"`
	}
}

type signUpConfigOutput struct {
	Body struct {
		TncVersion string `json:"tncVersion" doc:"send it back as tncAcceptedVersion"`
		Email      bool   `json:"email" doc:"codes can be sent by email"`
		SMS        bool   `json:"sms" doc:"codes can be sent by SMS"`
	}
}

// MsgVerified answers a successful verification.
const MsgVerified = "your account is active: sign in with your email or phone and password"

func (s *Server) signUpRoutes() {
	cfg := public(described(op("signUpConfig", http.MethodGet, "/signup/config", "What sign-up needs: terms version, channels", "signup"),
		"What the sign-up form needs: the current terms version and which channels (email, phone) can receive a code. Needs no caller."))
	register(s, cfg, s.signUpConfig)

	// The sign-up form picks a state and a district before anyone is
	// signed in; the location table is public reference data.
	locs := public(described(op("signUpLocations", http.MethodGet, "/signup/locations", "States, or the districts of a state, for the sign-up form", "signup"),
		"The states, or with state the districts of that state, a new user can choose on the sign-up form. Needs no caller."))
	register(s, locs, s.signUpLocations)

	up := public(op("signUp", http.MethodPost, "/signup", "Sign up: create your account and get a code", "signup"))
	up.Description = "Creates an account in the custodian organisation, inactive until the code sent to the email or phone " +
		"is entered (POST /signup/verify). The answer is the same whether or not the address is registered; " +
		"the owner of a registered address gets a notice instead of a code. Under 18 by year of birth, " +
		"a parent signs the child up with POST /signup/child. Codes are throttled per address and per client: 429 with Retry-After."
	up.DefaultStatus = http.StatusAccepted
	up.Errors = []int{http.StatusUnprocessableEntity, http.StatusTooManyRequests, http.StatusServiceUnavailable}
	register(s, up, s.signUp)

	resend := public(op("signUpResend", http.MethodPost, "/signup/resend", "Send a new sign-up code", "signup"))
	resend.Description = "The newest code is the only one that works. Same answer for every address."
	resend.DefaultStatus = http.StatusAccepted
	resend.Errors = []int{http.StatusUnprocessableEntity, http.StatusTooManyRequests, http.StatusServiceUnavailable}
	register(s, resend, s.signUpResend)

	verify := public(op("signUpVerify", http.MethodPost, "/signup/verify", "Activate your account with the code", "signup"))
	verify.Description = "Needs the code and the password given at sign-up. A code expires after 10 minutes, works once " +
		"and dies after 5 wrong tries; wrong tries also slow further ones from the same client (429 with Retry-After)."
	verify.Errors = []int{http.StatusUnprocessableEntity, http.StatusTooManyRequests}
	register(s, verify, s.signUpVerify)

	child := op("signUpChild", http.MethodPost, "/signup/child", "Sign up your child (under 18) as a managed user", "signup")
	child.Description = "The child's account is managed by the caller (managedBy), has no email or phone of its own " +
		"and is active at once; the answer gives the generated username the child signs in with."
	child.DefaultStatus = http.StatusCreated
	child.Errors = append(child.Errors, http.StatusUnprocessableEntity)
	register(s, child, s.signUpChild)
}

func (b signUpBody) request(client string) signup.Request {
	return signup.Request{FirstName: b.FirstName, LastName: b.LastName, Email: b.Email, Phone: b.Phone,
		Password: b.Password, YearOfBirth: b.YearOfBirth, State: b.State, District: b.District,
		TncVersion: b.TncVersion, Client: client}
}

func (s *Server) signUpConfig(ctx context.Context, _ *struct{}) (*signUpConfigOutput, error) {
	out := &signUpConfigOutput{}
	out.Body.TncVersion = s.cfg.SignUp.TncVersion
	out.Body.Email, out.Body.SMS = s.cfg.SignUp.Can(signup.ChannelEmail), s.cfg.SignUp.Can(signup.ChannelSMS)
	return out, nil
}

func (s *Server) signUp(ctx context.Context, in *signUpInput) (*signUpOutput, error) {
	r, err := s.cfg.SignUp.SignUp(ctx, in.Body.request(infoFrom(ctx).client))
	if err != nil {
		return nil, err
	}
	out := &signUpOutput{}
	out.Body.Message = r.Message
	return out, nil
}

func (s *Server) signUpChild(ctx context.Context, in *signUpInput) (*signUpOutput, error) {
	r, err := s.cfg.SignUp.SignUpChild(ctx, caller(ctx), in.Body.request(infoFrom(ctx).client))
	if err != nil {
		return nil, err
	}
	out := &signUpOutput{}
	out.Body.Message, out.Body.UserID, out.Body.Username = r.Message, r.UserID, r.Username
	return out, nil
}

func (s *Server) signUpResend(ctx context.Context, in *resendInput) (*signUpOutput, error) {
	return s.sendCode(ctx, in, s.cfg.SignUp.Resend)
}

// sendCode asks the sign-up service to send a code to the address in the
// body; its answer is the same whether or not a code went out.
func (s *Server) sendCode(ctx context.Context, in *resendInput,
	send func(context.Context, registry.SignUpContact, string) (*signup.Result, error)) (*signUpOutput, error) {
	r, err := send(ctx, registry.SignUpContact{Email: in.Body.Email, Phone: in.Body.Phone}, infoFrom(ctx).client)
	if err != nil {
		return nil, err
	}
	out := &signUpOutput{}
	out.Body.Message = r.Message
	return out, nil
}

// signUpVerify counts wrong answers in the sign-in throttle: per address
// (its blind indexes) and per client, so guessing codes for many
// addresses from one network slows down as guessing passwords does.
func (s *Server) signUpVerify(ctx context.Context, in *verifyInput) (*verifyOutput, error) {
	c := registry.SignUpContact{Email: in.Body.Email, Phone: in.Body.Phone}
	return s.checkCode(ctx, c, MsgVerified, func() error {
		_, err := s.cfg.SignUp.Verify(ctx, c, in.Body.Password, in.Body.Code)
		return err
	})
}

// checkCode runs check, which spends a one-time code sent to c's address,
// under the sign-in throttle: a wrong code counts as a failed sign-in of
// that address and client, and a right one clears the address's count.
func (s *Server) checkCode(ctx context.Context, c registry.SignUpContact, done string, check func() error) (*verifyOutput, error) {
	accounts, client := s.reg.LoginKeys(c.Email+c.Phone), infoFrom(ctx).client
	if ok, wait := s.throttle.Allowed(accounts, client); !ok {
		return nil, tooManySignIns(wait)
	}
	err := check()
	if roster.ErrorCode(err) == roster.EINVALID {
		s.throttle.Failed(accounts, client)
	}
	if err != nil {
		return nil, err
	}
	s.throttle.Succeeded(accounts)
	out := &verifyOutput{}
	out.Body.Message = done
	return out, nil
}

func (s *Server) signUpLocations(ctx context.Context, in *struct {
	ParentID string `query:"parentId" maxLength:"64" doc:"a state's id for its districts; empty for the states"`
}) (*locationListOutput, error) {
	typ := roster.LocationState
	if in.ParentID != "" {
		typ = roster.LocationDistrict
	}
	ls, err := s.reg.ListLocations(ctx, typ, in.ParentID)
	if err != nil {
		return nil, err
	}
	out := &locationListOutput{}
	out.Body.Locations = ls
	return out, nil
}
