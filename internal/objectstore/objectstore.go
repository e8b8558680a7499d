// Package objectstore keeps report archives in S3-compatible object storage
// (AWS S3, SeaweedFS, MinIO, Ceph), so that every replica of a production
// deployment reads the files any replica wrote. The embedded default keeps
// them in a local directory instead; this package is only used when
// --report-store names a bucket.
package objectstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// ErrNotExist is returned for an object that is not (or no longer) there;
// it is fs.ErrNotExist, as for a local file.
var ErrNotExist = fmt.Errorf("objectstore: object does not exist: %w", fs.ErrNotExist)

// Config names a bucket and how to reach it.
type Config struct {
	Endpoint  string // host:port
	Bucket    string
	Prefix    string // key prefix, e.g. "reports/"
	Region    string
	Insecure  bool // plain HTTP (a server on loopback or inside the cluster)
	AccessKey string
	SecretKey string
}

// ParseURL reads s3://BUCKET[/PREFIX]?endpoint=HOST:PORT[&region=R][&insecure=true].
// Credentials never come from the URL (it is logged and shown in `ps`); the
// caller passes them from the environment.
func ParseURL(raw string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return Config{}, fmt.Errorf("report store %q: want s3://BUCKET[/PREFIX]?endpoint=HOST:PORT", redact(raw))
	}
	if u.User != nil {
		return Config{}, errors.New("report store: put the credentials in ROSTER_S3_ACCESS_KEY and ROSTER_S3_SECRET_KEY, not in the URL")
	}
	q := u.Query()
	c := Config{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/"), Endpoint: q.Get("endpoint"), Region: q.Get("region"),
		Insecure: q.Get("insecure") == "true"}
	if c.Endpoint == "" {
		c.Endpoint = "s3.amazonaws.com"
	}
	for k := range q {
		if k != "endpoint" && k != "region" && k != "insecure" {
			return Config{}, fmt.Errorf("report store: unknown setting %q (endpoint, region, insecure)", k)
		}
	}
	return c, nil
}

func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "(unparsable)"
}

// Store is one bucket.
type Store struct {
	c   *minio.Client
	cfg Config
}

// Open connects and checks that the bucket exists, so a misconfigured
// replica fails at start rather than at its first report.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: !cfg.Insecure,
		Region: cfg.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("report store: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ok, err := c.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("report store: bucket %q at %s: %w", cfg.Bucket, cfg.Endpoint, err)
	} else if !ok {
		return nil, fmt.Errorf("report store: bucket %q does not exist at %s", cfg.Bucket, cfg.Endpoint)
	}
	return &Store{c: c, cfg: cfg}, nil
}

func (s *Store) key(name string) string { return path.Join(s.cfg.Prefix, name) }

// Put uploads size bytes from r as name and returns the object's key. An
// upload cut short leaves no object: S3 makes an object visible only when
// its upload completes.
func (s *Store) Put(ctx context.Context, name string, r io.Reader, size int64) (string, error) {
	key := s.key(name)
	_, err := s.c.PutObject(ctx, s.cfg.Bucket, key, r, size, minio.PutObjectOptions{
		ContentType: "application/zip",
		PartSize:    16 << 20, // bounds the client's buffer for large archives
	})
	if err != nil {
		return "", fmt.Errorf("report store: upload: %w", err)
	}
	return key, nil
}

// Get opens the object at key.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, int64, time.Time, error) {
	obj, err := s.c.GetObject(ctx, s.cfg.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, 0, time.Time{}, mapErr(err)
	}
	info, err := obj.Stat()
	if err != nil {
		obj.Close()
		return nil, 0, time.Time{}, mapErr(err)
	}
	return obj, info.Size, info.LastModified, nil
}

// Remove deletes the object at key; a missing object is not an error.
func (s *Store) Remove(ctx context.Context, key string) error {
	if err := s.c.RemoveObject(ctx, s.cfg.Bucket, key, minio.RemoveObjectOptions{}); err != nil {
		if errors.Is(mapErr(err), ErrNotExist) {
			return nil
		}
		return fmt.Errorf("report store: remove: %w", err)
	}
	return nil
}

func mapErr(err error) error {
	if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
		return ErrNotExist
	}
	return fmt.Errorf("report store: %w", err)
}

// CreateBucket creates cfg's bucket if it is missing (tests, and first-time
// set-up of a server such as SeaweedFS that starts with none).
func CreateBucket(ctx context.Context, cfg Config) error {
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: !cfg.Insecure,
		Region: cfg.Region,
	})
	if err != nil {
		return err
	}
	if ok, err := c.BucketExists(ctx, cfg.Bucket); err != nil || ok {
		return err
	}
	return c.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region})
}
