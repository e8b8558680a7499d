package registry

import (
	"context"

	"github.com/roster-dev/roster/internal/pii"
	"github.com/roster-dev/roster/internal/store"
)

// Rewrapping is how the PII key ring rotates with per-user data keys: a
// retired ring key wraps only 32 bytes per user, so moving users off it
// re-wraps those bytes and never touches the values they seal. Both steps
// below work in batches, one transaction each, and pick their work from
// the database's state, so they can be stopped and run again, and run
// while the service serves (every write is conditional on what was read).

// DefaultRewrapBatch is how many users one transaction of a rewrap covers.
const DefaultRewrapBatch = 500

// RewrapPending counts the data keys not wrapped by the ring's primary key.
func (s *Service) RewrapPending(ctx context.Context) (int, error) {
	return store.CountUserKeysNotUnder(ctx, s.db, s.keys.PrimaryKeyID())
}

// RewrapUserKeys re-wraps every data key not under the ring's primary key
// with it, reporting each batch's count to progress, and returns how many
// it re-wrapped. A key erased or re-wrapped meanwhile is skipped.
func (s *Service) RewrapUserKeys(ctx context.Context, batch int, progress func(int)) (int, error) {
	primary := s.keys.PrimaryKeyID()
	return s.inBatches(ctx, batch, progress, func(tx store.Tx, after string, batch int) (string, int, int, error) {
		page, err := store.UserKeysNotUnder(ctx, tx, primary, after, batch)
		if err != nil || len(page) == 0 {
			return "", 0, 0, err
		}
		n := 0
		for _, r := range page {
			wrapped, keyID, err := s.keys.RewrapUserKey(r.UserID, r.Wrapped)
			if err != nil {
				return "", 0, 0, err // a key the ring no longer holds: stop, nothing lost
			}
			ok, err := store.RewrapUserKey(ctx, tx, r, keyID, wrapped)
			if err != nil {
				return "", 0, 0, err
			}
			if ok {
				n++
			}
		}
		return page[len(page)-1].UserID, len(page), n, nil
	})
}

// inBatches runs step once per keyset page, one transaction each, until a
// page comes back short: step reads the page after the given key and
// returns its last key, its length and what it counts.
func (s *Service) inBatches(ctx context.Context, batch int, progress func(int),
	step func(tx store.Tx, after string, batch int) (last string, size, n int, err error)) (int, error) {
	if batch <= 0 {
		batch = DefaultRewrapBatch
	}
	after, total := "", 0
	for {
		var last string
		var size, n int
		err := store.InTx(ctx, s.db, func(tx store.Tx) error {
			var err error
			last, size, n, err = step(tx, after, batch)
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
		if progress != nil {
			progress(size)
		}
		if size < batch {
			return total, nil
		}
		after = last
	}
}

// MovePending counts the users that MoveToUserKeys looks at: every user
// not erased (which of them still hold ring-sealed values is only known
// by reading them).
func (s *Service) MovePending(ctx context.Context) (int, error) {
	return store.CountSealedUsers(ctx, s.db)
}

// MoveToUserKeys re-seals, under each user's data key, the values still
// sealed by the ring directly: those of users created before per-user
// keys, who get a data key here. Until a user's values are moved, an
// erasure blanks them in the database but copies taken before still open
// with the ring. It reports each batch's count of users looked at to
// progress and returns how many values it re-sealed.
func (s *Service) MoveToUserKeys(ctx context.Context, batch int, progress func(int)) (int, error) {
	return s.inBatches(ctx, batch, progress, func(tx store.Tx, after string, batch int) (string, int, int, error) {
		page, err := store.SealedUsers(ctx, tx, after, batch)
		if err != nil || len(page) == 0 {
			return "", 0, 0, err
		}
		ids := make([]string, len(page))
		for i, u := range page {
			ids[i] = u.UserID
		}
		extIDs, err := store.ExternalIDsFor(ctx, tx, ids)
		if err != nil {
			return "", 0, 0, err
		}
		byUser := map[string][]store.ExternalIDRow{}
		for _, x := range extIDs {
			if pii.SealedByRing(x.Enc) {
				byUser[x.UserID] = append(byUser[x.UserID], x)
			}
		}
		n := 0
		for _, u := range page {
			moved, err := s.moveUser(ctx, tx, u, byUser[u.UserID])
			if err != nil {
				return "", 0, 0, err
			}
			n += moved
		}
		return page[len(page)-1].UserID, len(page), n, nil
	})
}

// moveUser re-seals one user's ring-sealed values under their data key.
func (s *Service) moveUser(ctx context.Context, tx store.Tx, u store.SealedUser, extIDs []store.ExternalIDRow) (int, error) {
	var columns []string
	for _, c := range store.UserSealedColumns() {
		if pii.SealedByRing(u.Columns[c]) {
			columns = append(columns, c)
		}
	}
	if len(columns) == 0 && len(extIDs) == 0 {
		return 0, nil
	}
	keys, err := s.writeKey(ctx, tx, u.UserID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range columns {
		context := pii.UserField(u.UserID, columnField(c))
		v, err := keys.Open(u.Columns[c], context)
		if err != nil {
			return 0, err
		}
		ok, err := store.ResealUserColumn(ctx, tx, u.UserID, c, u.Columns[c], keys.Seal(v, context))
		if err != nil {
			return 0, err
		}
		if ok {
			n++
		}
	}
	for _, x := range extIDs {
		context := pii.ExternalID(x.Provider, x.IDType, x.UserID)
		v, err := keys.Open(x.Enc, context)
		if err != nil {
			return 0, err
		}
		ok, err := store.ResealExternalIdentity(ctx, tx,
			store.ExternalIdentityRecord{Provider: x.Provider, IDType: x.IDType, UserID: x.UserID, Enc: x.Enc}, keys.Seal(v, context))
		if err != nil {
			return 0, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// columnField is the pii field a sealed users column holds ("email_enc" →
// "email"), the column naming rule of pii's bindings.
func columnField(column string) string { return column[:len(column)-len("_enc")] }
