-- What each rating snapshot was computed from, part by part (issue 24): one row per snapshot and
-- input — 'methodology' (the file's content hash), 'bodies' (the bodies of the month with their
-- group, volumes and pages) and 'indicator:<id>' (the raw values of one indicator) — with a hash
-- of the part and the number of bodies with a value. A republished revision compares its parts
-- with the revision before to say which inputs changed («Что изменилось»).
CREATE TABLE IF NOT EXISTS audit.rating_snapshot_input (
    snapshot_id  TEXT NOT NULL,
    input_id     TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    bodies       INTEGER NOT NULL,
    PRIMARY KEY (snapshot_id, input_id)
);
