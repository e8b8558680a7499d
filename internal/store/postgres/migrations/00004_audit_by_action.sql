-- +goose Up
-- Conflicts answered to an admin are audited as user.conflict; the
-- per-admin budget counts one admin's recent rows and the metric counts
-- them all, so both read by action first.
CREATE INDEX audit_log_action ON audit_log (action, actor_id, at);

-- +goose Down
DROP INDEX audit_log_action;
