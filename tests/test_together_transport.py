"""The retry transport on its own: backoff with jitter, retry-after, the --max-wait budget, what is never retried."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dsqa.finetune.backend import BackendError
from dsqa.finetune.transport import Retry, backoff_delay


def _failing(errors: list[BackendError | Exception], result: str = "done") -> tuple[Callable[[], str], list[int]]:
    calls = [0]

    def fn() -> str:
        calls[0] += 1
        if errors:
            raise errors.pop(0)
        return result

    return fn, calls


def _same(exc: Exception) -> BackendError | None:
    return exc if isinstance(exc, BackendError) else None


def test_backoff_doubles_from_one_second_with_jitter_between_half_and_all_and_is_capped() -> None:
    assert [backoff_delay(n, lambda: 0.0) for n in range(4)] == [0.5, 1.0, 2.0, 4.0]
    assert [backoff_delay(n, lambda: 1.0) for n in range(4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff_delay(10, lambda: 1.0) == 60.0 and backoff_delay(10, lambda: 0.0) == 30.0
    assert backoff_delay(500, lambda: 1.0) == 60.0  # no overflow on a very long outage


def test_transient_errors_are_retried_with_retry_after_first_then_backoff(virtual_time: list[float]) -> None:
    messages: list[str] = []
    errors: list[BackendError | Exception] = [
        BackendError("x: HTTP 429", "transient", retry_after=7.0, short="HTTP 429 (rate limited)"),
        BackendError("x: HTTP 503", "transient", short="HTTP 503"),
        BackendError("x: dropped", "transient", short="connection failed"),
    ]
    fn, calls = _failing(errors)
    retry = Retry(max_wait=600, echo=messages.append, rand=lambda: 0.5)
    assert retry.run("reading x", fn, _same) == "done"
    assert calls == [4] and virtual_time == [7.0, 1.5, 3.0] and retry.waits == virtual_time
    assert messages[0] == ("dsqa: HTTP 429 (rate limited) while reading x; waiting 7.0 s as the server asked (retry-after), "
                           "then attempt 2 (0.0 s of --max-wait 600 s used)")
    assert messages[1] == "dsqa: HTTP 503 while reading x; waiting 1.5 s backing off, then attempt 3 (7.0 s of --max-wait 600 s used)"
    assert messages[2].startswith("dsqa: connection failed while reading x; waiting 3.0 s backing off, then attempt 4 (8.5 s")


def test_the_budget_stops_the_retries_when_the_next_wait_would_pass_it(virtual_time: list[float]) -> None:
    fn, calls = _failing([BackendError("x: HTTP 500 from h", "transient", short="HTTP 500") for _ in range(50)])
    with pytest.raises(BackendError) as caught:
        Retry(max_wait=10, rand=lambda: 1.0).run("reading x", fn, _same)
    # waits 1 + 2 + 4 = 7 s; the next (8 s) would end after 15 s, past the 10 s budget
    assert virtual_time == [1.0, 2.0, 4.0] and calls == [4]
    assert str(caught.value) == "x: HTTP 500 from h; gave up after 4 attempts in 7.0 s (--max-wait 10 s)"
    assert caught.value.kind == "transient"


def test_a_longer_retry_after_than_the_budget_left_gives_up_at_once(virtual_time: list[float]) -> None:
    fn, calls = _failing([BackendError("x: HTTP 429", "transient", retry_after=3600.0)])
    with pytest.raises(BackendError, match=r"gave up after 1 attempt in 0.0 s \(--max-wait 600 s; the server asked to wait 3,600 s\)"):
        Retry().run("uploading", fn, _same)
    assert virtual_time == [] and calls == [1]


def test_rejections_and_foreign_exceptions_are_never_retried(virtual_time: list[float]) -> None:
    fn, calls = _failing([BackendError("x: HTTP 400: bad", "rejected")])
    with pytest.raises(BackendError, match="HTTP 400"):
        Retry().run("creating", fn, _same)
    fn, calls2 = _failing([KeyError("bug")])
    with pytest.raises(KeyError):
        Retry().run("creating", fn, _same)
    assert virtual_time == [] and calls == [1] and calls2 == [1]


def test_zero_budget_means_one_attempt(virtual_time: list[float]) -> None:
    fn, calls = _failing([BackendError("x: down", "transient")])
    with pytest.raises(BackendError, match="gave up after 1 attempt"):
        Retry(max_wait=0).run("reading", fn, _same)
    assert calls == [1] and virtual_time == []
