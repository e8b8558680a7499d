package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"
)

// parseBool reads the spellings of yes and no operators write in
// environment files and unit files. pflag's own parser refuses yes/on and
// accepts t/f, and comparing with "true" turned ROSTER_SECURE_COOKIE=1
// silently into false.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "on":
		return true, nil
	case "false", "0", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean (use true/false, 1/0, yes/no or on/off)", s)
}

// envBool is the default a ROSTER_* variable gives a boolean flag.
func envBool(name string, def bool) bool {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	b, err := parseBool(v)
	if err != nil {
		badEnv = append(badEnv, name+"="+v+" is not a boolean (use true/false, 1/0, yes/no or on/off)")
		return def
	}
	return b
}

// strictBool is a boolean flag parsed with parseBool; bare --flag means true.
type strictBool struct{ p *bool }

func (b strictBool) String() string {
	if b.p == nil {
		return "false"
	}
	return fmt.Sprint(*b.p)
}
func (b strictBool) Type() string { return "bool" }
func (b strictBool) Set(s string) error {
	v, err := parseBool(s)
	if err != nil {
		return err
	}
	*b.p = v
	return nil
}

// boolVar defines a boolean flag that accepts the spellings of parseBool.
func boolVar(f *pflag.FlagSet, p *bool, name string, def bool, usage string) {
	*p = def
	f.Var(strictBool{p}, name, usage)
	f.Lookup(name).NoOptDefVal = "true"
}
