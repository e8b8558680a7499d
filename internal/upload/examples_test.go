package upload

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/registry"
)

// The shipped sample must keep doing what its rows promise: the first three
// are valid, the last three fail with the listed errors.
func TestExampleFiles(t *testing.T) {
	data, err := os.ReadFile("../../examples/users-sample.csv")
	if err != nil {
		t.Fatal(err)
	}
	f := mustParse(t, "users-sample.csv", data)
	if strings.Join(f.Columns, ",") != strings.Join(SeedColumns, ",") {
		t.Fatalf("sample columns %v", f.Columns)
	}
	recs := ValidateRows(f.Rows, today)
	want := map[int][]string{
		2: {}, 3: {}, 4: {},
		5: {
			"firstName: is required",
			"phone: " + registry.MsgPhone,
			"email: is not a valid email address",
			"userName: must be 3 to 64 characters",
			"password: must be 8 to 128 characters",
		},
		6: {
			"email: email or phone is required",
			"phoneVerified: can be TRUE only when phone is given",
		},
		7: {
			`roles: unknown role "TEACHER"; valid values are ` + strings.Join(roster.Roles, ", "),
			`grade: unknown grade "Class 13"; valid values are ` + strings.Join(Grades, ", "),
			"DOB: is not a real date",
			"gender: must be Male, Female or Transgender",
			"externalIdType: externalId, externalIdType and externalIdProvider must be given together",
			"externalIdProvider: externalId, externalIdType and externalIdProvider must be given together",
		},
	}
	if len(recs) != len(want) {
		t.Fatalf("%d rows", len(recs))
	}
	for _, r := range recs {
		if got := errorStrings(r.Errors); !reflect.DeepEqual(got, want[r.Row.Number]) {
			t.Errorf("row %d:\n%q\nwant\n%q", r.Row.Number, got, want[r.Row.Number])
		}
	}

	data, err = os.ReadFile("../../examples/users-template.csv")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse("users-template.csv", data, Limits{})
	wantFileError(t, err, roster.EINVALID, "the file has a header (row 1) but no data rows")
}
