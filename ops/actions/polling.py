"""Bounded waits: every wait in the toolkit has a deadline and says what it was waiting for when it gives up."""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

T = TypeVar("T")


class WaitTimeout(TimeoutError):
    """A bounded wait ran out; the message names what was awaited and the last state seen."""


def poll_until(check: Callable[[], T], done: Callable[[T], bool], *, timeout_s: float, poll_s: float,
               what: str) -> T:
    """Call `check` every `poll_s` seconds until `done(result)`; return that result or raise WaitTimeout."""
    last: list[T] = []

    def observe() -> T:
        value = check()
        last[:] = [value]
        return value

    retrying = Retrying(stop=stop_after_delay(timeout_s), wait=wait_fixed(poll_s),
                        retry=retry_if_result(lambda value: not done(value)), reraise=True)
    try:
        return retrying(observe)
    except RetryError:
        seen = repr(last[0]) if last else "nothing"
        raise WaitTimeout(f"timed out after {timeout_s:g} s waiting for {what}; last seen: {seen}") from None
