"""The SES warm-up pace (`ops.actions.ses.WarmUp`) on a fake clock: the rate it ramps through, and the spacing SES
sees, which is the spacing of the sends, not of the turns taken before the ledger's claim."""
from __future__ import annotations

import pytest

from ops.actions.ses import WarmUp


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def pace(clock: FakeClock, *, start: float = 2, top: float = 8, interval: float = 1) -> WarmUp:
    return WarmUp(start_rate=start, max_rate=top, interval_s=interval, clock=clock, sleep=clock.sleep)


def test_the_rate_doubles_each_interval_up_to_the_cap() -> None:
    clock = FakeClock()
    warm_up = pace(clock)
    send_times, rates = [], []
    for _ in range(12):
        rates.append(warm_up.wait_turn())
        warm_up.sending()
        send_times.append(clock.now - 100.0)
    assert rates == [2, 2, 4, 4, 4, 4, 8, 8, 8, 8, 8, 8]
    assert send_times == pytest.approx([0, 0.5, 1, 1.25, 1.5, 1.75, 2, 2.125, 2.25, 2.375, 2.5, 2.625])


def test_a_slow_step_between_the_turn_and_the_send_does_not_bring_two_sends_closer_than_the_rate() -> None:
    clock = FakeClock()
    warm_up = pace(clock)
    warm_up.wait_turn()
    clock.now += 0.7  # the ledger's claim stalls on a loaded machine
    first_send = clock.now
    warm_up.sending()
    clock.now += 0.01
    warm_up.wait_turn()  # the turn that was due at 0.5 s
    warm_up.sending()
    assert clock.now - first_send == pytest.approx(0.5)


def test_a_send_without_a_turn_is_a_caller_error() -> None:
    with pytest.raises(RuntimeError, match="wait_turn"):
        pace(FakeClock()).sending()


def test_an_idle_pace_does_not_bank_turns_for_a_burst() -> None:
    clock = FakeClock()
    warm_up = pace(clock, start=2, top=2)
    warm_up.wait_turn()
    warm_up.sending()
    clock.now += 5.0  # nothing to send for 5 s
    warm_up.wait_turn()
    warm_up.sending()
    before = clock.now
    warm_up.wait_turn()
    assert clock.now - before == pytest.approx(0.5)
