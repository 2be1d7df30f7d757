"""One Great Expectations run over several frames tells each frame what a run of its own would."""

from __future__ import annotations

import pandas as pd

from gospublic.infra.validation import validate_frame, validate_frames

SUITE = "incident_export_im"


def incidents(ids: list[str | None], first_row: int, *, status: str = "new") -> pd.DataFrame:
    rows = len(ids)
    return pd.DataFrame(
        {
            "incident_id": ids,
            "registered_at": pd.to_datetime(["2025-11-03 10:00"] * rows, utc=True),
            "answered_at": pd.to_datetime(["2025-11-02 10:00"] + ["2025-11-04 10:00"] * (rows - 1), utc=True),
            "channel": ["vk"] * rows,
            "executor": ["Администрация"] * rows,
            "status": [status] * rows,
            "message_type": [None] * rows,
            "satisfaction": pd.array([5] * (rows - 1) + [9], dtype="Int64"),
            "org_id": ["org-1"] * (rows - 1) + [None],
        },
        index=range(first_row, first_row + rows),
    )


def test_frames_validated_together_get_the_outcomes_they_get_alone() -> None:
    many = [f"{n:05d}" for n in range(600)]  # more failing rows than GX lists values of
    frames = [
        incidents(["1", "2", "2", "3", None], 2),
        incidents(["3", "4", "5", "5"], 2, status="не статус"),  # "3" repeats across frames only
        incidents(many + many, 10),
    ]

    together = validate_frames(frames, SUITE)

    for frame, outcome in zip(frames, together, strict=True):
        alone = validate_frame(frame, SUITE)
        assert outcome.rows == alone.rows == len(frame)
        assert sorted(map(repr, outcome.row_failures)) == sorted(map(repr, alone.row_failures))
        assert sorted(map(repr, outcome.results)) == sorted(map(repr, alone.results))
    unique = [f for f in together[1].row_failures if f.rule == "unique_id"]
    assert sorted((f.row, f.value) for f in unique) == [(4, "5"), (5, "5")]
    repeated = [f for f in together[2].row_failures if f.rule == "unique_id"]
    assert len(repeated) == 1200 and None not in {f.value for f in repeated}
