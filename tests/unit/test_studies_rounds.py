"""Batch sizing of a sweep (core.studies.rounds), without the sandbox."""

from __future__ import annotations

from core.studies import rounds
from sandbox.runner import MAX_OUT_ENTRIES


def test_first_batches_are_small_until_a_trial_was_timed() -> None:
    pace = rounds.Pace()
    assert pace.per_trial_s is None
    assert rounds.batch_size(remaining=90, workers=2, cap=200, pace=pace) == rounds.FIRST_BATCH
    assert rounds.batch_size(remaining=3, workers=2, cap=200, pace=pace) == 2  # an even share


def test_later_batches_hold_about_the_target_time() -> None:
    pace = rounds.Pace()
    pace.note(4, 4 * 0.5)
    pace.note(4, 4 * 1.5)  # 1 s a trial on average
    assert pace.per_trial_s == 1.0
    target = int(rounds.TARGET_BATCH_S)
    assert rounds.batch_size(remaining=1000, workers=2, cap=200, pace=pace) == target
    assert rounds.batch_size(remaining=1000, workers=2, cap=7, pace=pace) == 7  # the caller's cap
    # the tail is shared out so every child keeps working to the end
    assert rounds.batch_size(remaining=target, workers=2, cap=200, pace=pace) == target // 2 + \
        target % 2
    # what is left of the time budget bounds it, down to one trial
    assert rounds.batch_size(remaining=1000, workers=2, cap=200, pace=pace, time_left_s=5.5) == 5
    assert rounds.batch_size(remaining=1000, workers=2, cap=200, pace=pace, time_left_s=0) == 1


def test_very_fast_trials_are_bounded_by_the_cap_not_the_target() -> None:
    pace = rounds.Pace()
    pace.note(10, 0.01)
    assert rounds.batch_size(remaining=10_000, workers=2, cap=200, pace=pace) == 200


def test_a_batch_fits_one_childs_out_folder() -> None:
    # entries: a folder and three files per trial within the runner's entry limit
    assert rounds.out_cap(100, 256) == (MAX_OUT_ENTRIES - 1) // rounds.ENTRIES_PER_TRIAL
    assert 4 * rounds.out_cap(100, 256) + 1 <= MAX_OUT_ENTRIES
    # bytes: 1,000,000 bars at OUT_BYTES_PER_BAR bytes each fill 256 MB after 6 trials
    assert rounds.out_cap(1_000_000, 256) == 256 * 1024 * 1024 // (1_000_000 *
                                                                     rounds.OUT_BYTES_PER_BAR)
    assert rounds.out_cap(100_000_000, 256) == 1  # never zero


def test_work_shorter_than_a_sandbox_start_is_not_split() -> None:
    pace = rounds.Pace()
    pace.note(4, 0.2)  # 0.05 s a trial: a TPE round of 4 on short data
    assert rounds.batch_size(remaining=4, workers=2, cap=200, pace=pace) == 4
    assert rounds.batch_size(remaining=4, workers=2, cap=3, pace=pace) == 3
    # enough work to be worth a second child is shared out again
    many = int(rounds.SPLIT_MIN_S / 0.05) + 2
    assert rounds.batch_size(remaining=many, workers=2, cap=200, pace=pace) == many // 2 + many % 2


def test_a_slot_that_frees_up_shares_the_work_with_the_busy_children() -> None:
    pace = rounds.Pace()
    pace.note(4, 4 * 0.4)  # 0.4 s a trial
    # 82 trials left while the other child still runs 4: an even share of all 86
    assert rounds.batch_size(remaining=82, workers=2, cap=200, pace=pace, busy=4) == 43
    # 40 left while the other runs 36: all of them (an even share, 38, would leave a tail of
    # 2 trials, 0.8 s, for one more child start after both finished)
    assert rounds.batch_size(remaining=40, workers=2, cap=200, pace=pace, busy=36) == 40
    # a tail worth a child of its own is still left for the next free slot
    assert rounds.batch_size(remaining=60, workers=2, cap=200, pace=pace, busy=10) == 35
    # the target time and the cap still bound it
    assert rounds.batch_size(remaining=500, workers=2, cap=200, pace=pace, busy=500) == int(
        rounds.TARGET_BATCH_S / 0.4)
    assert rounds.batch_size(remaining=40, workers=2, cap=20, pace=pace, busy=36) == 20
