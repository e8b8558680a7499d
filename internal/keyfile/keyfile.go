// Package keyfile creates the secret files of the embedded default (PII
// keys, token signing key) exactly once, even when several processes start
// together on one data directory.
package keyfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ReadOrCreate returns the content of path, creating it with the output of
// generate (mode 0600) if it does not exist. The file is written in full
// under a temporary name and then hard-linked into place: link fails if the
// name exists, so exactly one process's content wins and no reader ever
// sees a half-written file.
func ReadOrCreate(path string, generate func() ([]byte, error)) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		return data, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	data, err = generate()
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(dir, ".keyfile-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, os.ErrExist) {
		return os.ReadFile(path) // another process won; use its key
	} else if err != nil {
		return nil, err
	}
	return data, nil
}
