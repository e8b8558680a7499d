-- +goose Up
-- Dry runs expire (issue 9): the retention sweep finds them by age. The
-- per-organisation cap on stored uploads reads upload_org.
CREATE INDEX upload_dry_run_created ON upload (created_at) WHERE dry_run;

-- +goose Down
DROP INDEX upload_dry_run_created;
