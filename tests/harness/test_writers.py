"""The night's "never two writers" checks (:mod:`harness.night.writers`), on hand-made records."""

from __future__ import annotations

from harness.night.writers import Window, Write, stale_applies, writer_changes


def test_an_apply_after_a_write_that_no_freeze_followed_is_stale() -> None:
    writes = [Write("blue", 10.0, 10.1)]
    assert stale_applies("blue", [11.0], writes, frozen_at=[]) == [
        "blue: a change applied at 11.000, after the application wrote there at 10.000"
    ]


def test_an_apply_after_the_freeze_that_followed_the_last_write_is_not_stale() -> None:
    writes = [Write("blue", 10.0, 10.1)]
    assert stale_applies("blue", [11.0], writes, frozen_at=[10.5]) == []


def test_a_commit_sent_before_the_freeze_and_acknowledged_after_it_is_before_the_freeze() -> None:
    """CI's night: a commit sent at 17.084 came back at 17.640, after the freeze ended; the drain carried it."""
    writes = [Write("blue", 17.084, 17.640)]
    assert stale_applies("blue", [18.436], writes, frozen_at=[17.5]) == []


def test_a_write_sent_after_the_freeze_makes_the_next_apply_stale() -> None:
    writes = [Write("blue", 17.084, 17.640), Write("blue", 17.6, 17.7)]
    assert stale_applies("blue", [18.436], writes, frozen_at=[17.5]) != []


def test_only_the_other_sides_writes_are_ignored() -> None:
    assert stale_applies("blue", [11.0], [Write("green", 10.0, 10.1)], frozen_at=[]) == []


def test_stale_applies_are_summarized_after_three() -> None:
    found = stale_applies("blue", [11.0, 12.0, 13.0, 14.0, 15.0], [Write("blue", 10.0, 10.1)], frozen_at=[])
    assert len(found) == 4 and found[-1] == "blue: ... 2 more"


def test_the_writing_side_changes_once_per_operation() -> None:
    writes = [Write("blue", 1.0, 1.1), Write("green", 2.0, 2.1), Write("blue", 3.0, 3.1)]
    assert writer_changes(writes, [Window("cutover", 0.0, 10.0)]) == ["cutover: the writing side changed 2 times"]


def test_overlapping_commits_on_both_sides_are_two_writers() -> None:
    writes = [Write("blue", 1.0, 2.0), Write("green", 1.5, 1.6)]
    assert any("two writers" in p for p in writer_changes(writes, [Window("cutover", 0.0, 10.0)]))
