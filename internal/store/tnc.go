package store

import (
	"context"

	"github.com/roster-dev/roster"
)

const tncColumns = `kind, version, url, published_at, published_by`

// InsertTncVersion records a published version; publishing the same kind
// and version twice is ErrUnique.
func InsertTncVersion(ctx context.Context, q Queryer, v roster.TncVersion) error {
	_, err := q.Exec(ctx, insertSQL(`tnc_version`, tncColumns),
		v.Kind, v.Version, v.URL, v.PublishedAt, v.PublishedBy)
	return err
}

// CurrentTncVersions returns the version of each kind published last,
// ordered by kind; kinds never published are absent.
func CurrentTncVersions(ctx context.Context, q Queryer) ([]roster.TncVersion, error) {
	return queryAll(ctx, q, scanTncVersion, `SELECT `+tncColumns+` FROM tnc_version t
		WHERE published_at = (SELECT MAX(published_at) FROM tnc_version l WHERE l.kind = t.kind)
		ORDER BY kind`)
}

// SetUserTnc records what terms a user has accepted.
func SetUserTnc(ctx context.Context, q Queryer, u *roster.User) error {
	n, err := q.Exec(ctx, `UPDATE users SET tnc_accepted_version = $2, tnc_accepted_on = $3, all_tnc_accepted = $4,
		updated_by = $5, updated_date = $6 WHERE id = $1`,
		u.ID, u.TncAcceptedVersion, u.TncAcceptedOn, JSONText(u.AllTncAccepted, "{}"), NullString(u.UpdatedBy), u.UpdatedDate)
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNoRows
	}
	return nil
}

func scanTncVersion(row Row) (*roster.TncVersion, error) {
	var v roster.TncVersion
	err := row.Scan(&v.Kind, &v.Version, &v.URL, &v.PublishedAt, &v.PublishedBy)
	v.PublishedAt = v.PublishedAt.UTC()
	return &v, err
}
