package roster_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/roster-dev/roster"

// TestDesignTable holds the README's package table to the source: every
// package of the module is listed once, none that does not exist, and each
// row's imports column is exactly what the package's non-test files import
// from the module. A new package or a new dependency between packages
// fails here until the map says so.
func TestDesignTable(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	design := string(readme)
	if i := strings.Index(design, "## Design"); i >= 0 {
		design = design[i:]
	} else {
		t.Fatal("README has no Design section")
	}
	tick := regexp.MustCompile("`([^`]+)`")
	listed := map[string][]string{} // package dir -> imports as listed
	for _, line := range strings.Split(design, "\n") {
		cells := strings.Split(line, "|")
		if !strings.HasPrefix(line, "| `") || len(cells) != 5 {
			continue
		}
		var imports []string
		for _, m := range tick.FindAllStringSubmatch(cells[3], -1) {
			imports = append(imports, dirOf(m[1]))
		}
		slices.Sort(imports)
		for _, m := range tick.FindAllStringSubmatch(cells[1], -1) {
			dir := m[1]
			if dir == "roster" {
				dir = "."
			}
			if _, dup := listed[dir]; dup {
				t.Errorf("README lists %s twice", m[1])
			}
			listed[dir] = imports
		}
	}

	actual := packages(t)
	for dir, want := range listed {
		got, ok := actual[dir]
		if !ok {
			t.Errorf("README lists %s, which is not a package", dir)
		} else if !slices.Equal(got, want) {
			t.Errorf("README says %s imports %v; it imports %v", dir, want, got)
		}
	}
	for dir := range actual {
		if _, ok := listed[dir]; !ok {
			t.Errorf("package %s is missing from the README's table", dir)
		}
	}
}

// dirOf turns a name of the imports column ("roster", "store/sqlite") into
// a directory relative to the module root.
func dirOf(name string) string {
	if name == "roster" {
		return "."
	}
	return "internal/" + name
}

// packages returns every directory of the module holding Go files, with
// the module's packages its non-test files import.
func packages(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{".": nil}
	for _, root := range []string{"cmd", "internal"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
				return err
			}
			if _, ok := out[filepath.Dir(path)]; !ok {
				out[filepath.Dir(path)] = nil
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for dir := range out {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, e := range entries {
			name := e.Name()
			if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, name), nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if p == module {
					seen["."] = true
				} else if rel, ok := strings.CutPrefix(p, module+"/"); ok {
					seen[rel] = true
				}
			}
		}
		var imports []string
		for p := range seen {
			imports = append(imports, p)
		}
		slices.Sort(imports)
		out[dir] = imports
	}
	return out
}
