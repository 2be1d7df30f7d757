-- The degeneracy report of every rating snapshot and the rating-level checks of the publication
-- gate (issue 24).
--
-- audit.rating_degeneracy: one row per snapshot and finding (transforms/rating_degeneracy.py),
-- written in the snapshot's transaction: kind (small_group, equal_points, missing_indicator,
-- one_zone, full_score), the group (NULL: over all groups), the indicator (NULL: about a group),
-- the counts and bodies behind it as JSON, and the Russian message of the methodology sheet.
CREATE TABLE IF NOT EXISTS audit.rating_degeneracy (
    snapshot_id    TEXT NOT NULL,
    finding_no     INTEGER NOT NULL,
    kind           TEXT NOT NULL,
    rating_group   TEXT,
    indicator_id   TEXT,
    counts         TEXT NOT NULL,
    org_ids        TEXT NOT NULL,
    message_ru     TEXT NOT NULL,
    PRIMARY KEY (snapshot_id, finding_no)
);

-- audit.rating_gate records the checks of a computed rating too: stage 'inputs' (the month's
-- inputs, one row per run; rows from before this migration are of that stage) or 'rating' (one
-- snapshot's scores, required indicators, group sizes and rated bodies; snapshot_ids names it),
-- and the methodology of a 'rating' row.
ALTER TABLE audit.rating_gate ADD COLUMN stage TEXT;
ALTER TABLE audit.rating_gate ADD COLUMN methodology_id TEXT;
