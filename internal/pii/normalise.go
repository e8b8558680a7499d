package pii

import (
	"errors"
	"net/mail"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// DefaultRegion is used for phone numbers written without a country code;
// the seed's platform is Indian (+91).
const DefaultRegion = "IN"

var (
	ErrEmail = errors.New("is not a valid email address")
	ErrPhone = errors.New("is not a valid phone number")
)

// NormaliseEmail lower-cases and trims an email and checks its shape. The
// normalised form is what the blind index hashes, so "A@x.org " and "a@x.org"
// are the same user.
func NormaliseEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || len(s) > 254 || !utf8.ValidString(s) {
		return "", ErrEmail
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" {
		return "", ErrEmail
	}
	local, domain, _ := strings.Cut(s, "@")
	if local == "" || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return "", ErrEmail
	}
	return s, nil
}

// NormalisePhone returns the E.164 form of a phone number; numbers without a
// country code are read in region (DefaultRegion when empty).
func NormalisePhone(s, region string) (string, error) {
	num, err := parsePhone(s, region)
	if err != nil {
		return "", err
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

func parsePhone(s, region string) (*phonenumbers.PhoneNumber, error) {
	if region == "" {
		region = DefaultRegion
	}
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 32 {
		return nil, ErrPhone
	}
	num, err := phonenumbers.Parse(s, region)
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return nil, ErrPhone
	}
	return num, nil
}

// NormaliseUsername lower-cases and trims a username for uniqueness checks.
func NormaliseUsername(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// NormaliseExternalID makes the lookup key of an external identity. The
// provider and id type are case-insensitive; the id itself is trimmed and
// lower-cased because state systems are inconsistent about case.
func NormaliseExternalID(provider, idType, id string) string {
	return strings.ToLower(strings.TrimSpace(provider)) + "\x00" +
		strings.ToLower(strings.TrimSpace(idType)) + "\x00" +
		strings.ToLower(strings.TrimSpace(id))
}

// MaskEmail keeps the first two characters of the local part, as the seed's
// "te*****@yopmail.com" shows.
func MaskEmail(email string) string {
	local, domain, ok := strings.Cut(email, "@")
	if !ok {
		return ""
	}
	r := []rune(local)
	keep := min(2, len(r))
	return string(r[:keep]) + strings.Repeat("*", max(len(r)-keep, 1)) + "@" + domain
}

// MaskPhone keeps the first two and last two digits of the national number,
// as the seed's "98******09" shows.
func MaskPhone(e164 string) string {
	national := e164
	if num, err := phonenumbers.Parse(e164, DefaultRegion); err == nil {
		national = phonenumbers.GetNationalSignificantNumber(num)
	}
	if len(national) <= 4 {
		return strings.Repeat("*", len(national))
	}
	return national[:2] + strings.Repeat("*", len(national)-4) + national[len(national)-2:]
}

// CountryCode returns "+<calling code>" of an E.164 number ("+91" for
// "+919812345609"), or "" when it cannot be parsed.
func CountryCode(e164 string) string {
	num, err := phonenumbers.Parse(e164, DefaultRegion)
	if err != nil {
		return ""
	}
	return "+" + strconv.Itoa(int(num.GetCountryCode()))
}

// NormaliseMobile is NormalisePhone for numbers a person is reached on: it
// also refuses numbers that are only landlines. region is the one a number
// without +<country code> is read in (DefaultRegion when empty).
func NormaliseMobile(s, region string) (string, error) {
	num, err := parsePhone(s, region)
	if err != nil {
		return "", err
	}
	switch phonenumbers.GetNumberType(num) {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE:
	default:
		return "", ErrPhone
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// RegionForCallingCode returns a region (such as "US" for 1) that uses the
// country calling code, or "" when none does.
func RegionForCallingCode(code int) string {
	r := phonenumbers.GetRegionCodeForCountryCode(code)
	if r == "ZZ" || r == "001" {
		return ""
	}
	return r
}
