"""The delivery log's reads for the report: the deliveries of some courses (`DeliveryLookup`),
and sent moments (`History`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from certify.clock import from_utc_text
from certify.deliver.log import Decided, DeliveryLog, MarkRefused
from certify.deliver.lookup import DeliveryLookup, Key
from certify.inspect.history import History
from certify.store.database import Store
from tests.helpers import import_into, moment

SENDER = "Training office <training@example.org>"

TWO_COURSES = {
    "courses": """
        course_id,name,course_type,status,start,end
        C1,Display training,FOUR,final,2026-11-01,2026-11-05 17:00
        C2,Forklift training,FOUR,final,2026-11-01,2026-11-06 17:00
    """,
    "parts": """
        part_id,course_id,name,attendance_required,pass_required
        C1-1,C1,Day 1,yes,no
        C2-1,C2,Day 1,yes,no
    """,
    "enrollments": """
        course_id,person_id,enrolled_at
        C1,P1,2026-10-01
        C1,P2,2026-10-01
        C2,P1,2026-10-01
    """,
    "attendance": "part_id,person_id,present\n",
    "results": "part_id,person_id,passed\n",
}


@pytest.fixture
def store(tmp_path: Path, export: Callable[..., Path]) -> Iterator[Store]:
    db = tmp_path / "certify.db"
    import_into(db, export(**TWO_COURSES))
    opened = Store.open(db)
    yield opened
    opened.close()


def _attempt(store: Store, key: Key, at: str, state: str, error: str | None = None) -> None:
    """One delivery claimed and handed over at `at`, ending in `state`."""
    log = DeliveryLog(store, moment(at))
    claim = log.claim(Decided(key, moment("2026-11-06 09:00"), {}), SENDER)
    log.mark_sending(claim)
    log.record(claim, state, error=error)
    log.flush()


def test_of_courses_gives_the_logged_deliveries_of_those_courses_with_when_sent(
    store: Store,
) -> None:
    _attempt(store, ("certificate", "C1", "P1"), "2026-11-06 09:00", "sent")
    _attempt(store, ("certificate", "C1", "P2"), "2026-11-06 09:01", "failed", "550 no such user")
    _attempt(store, ("certificate", "C2", "P1"), "2026-11-07 09:00", "sent")
    _attempt(store, ("proof", "C1", "P1"), "2026-11-06 09:02", "sent")
    log = DeliveryLookup(store)

    found = log.of_courses(["certificate"], ["C1"])

    assert set(found) == {("certificate", "C1", "P1"), ("certificate", "C1", "P2")}
    sent, sent_at = found[("certificate", "C1", "P1")]
    assert (sent.state, sent.attempts, sent.last_error) == ("sent", 1, None)
    assert sent.id == History(store).find(("certificate", "C1", "P1"))["id"]  # type: ignore[index]
    assert sent.due_at is not None and from_utc_text(sent.due_at) == moment("2026-11-06 09:00")
    assert sent_at is not None and from_utc_text(sent_at) == moment("2026-11-06 09:00")
    failed, never_sent = found[("certificate", "C1", "P2")]
    assert (failed.state, failed.last_error, never_sent) == ("failed", "550 no such user", None)
    both = log.of_courses(["certificate", "proof"], ["C1", "C2"])
    assert set(both) == {
        ("certificate", "C1", "P1"),
        ("certificate", "C1", "P2"),
        ("certificate", "C2", "P1"),
        ("proof", "C1", "P1"),
    }
    assert log.of_courses([], ["C1"]) == {} and log.of_courses(["certificate"], []) == {}


def test_sent_between_gives_the_sent_moments_from_first_up_to_last(store: Store) -> None:
    _attempt(store, ("certificate", "C1", "P1"), "2026-11-02 09:00", "sent")
    _attempt(store, ("certificate", "C1", "P2"), "2026-11-09 00:00", "sent")  # on the edge
    _attempt(store, ("certificate", "C2", "P1"), "2026-11-09 08:00", "sent")
    _attempt(store, ("proof", "C1", "P1"), "2026-11-03 09:00", "failed", "550 no such user")

    week = History(store).sent_between(moment("2026-11-02 00:00"), moment("2026-11-09 00:00"))
    assert week == [moment("2026-11-02 09:00")]  # the failed one was never sent
    assert sorted(
        History(store).sent_between(moment("2026-11-09 00:00"), moment("2026-11-16 00:00"))
    ) == [
        moment("2026-11-09 00:00"),
        moment("2026-11-09 08:00"),
    ]
    assert History(store).sent_between(moment("2026-11-10 00:00"), moment("2026-11-17 00:00")) == []


def test_sent_between_counts_a_delivery_marked_sent_by_hand(store: Store) -> None:
    key = ("certificate", "C1", "P1")
    log = DeliveryLog(store, moment("2026-11-06 09:00"))
    claim = log.claim(Decided(key, moment("2026-11-06 09:00"), {}), SENDER)
    log.mark_sending(claim)
    log.recover(lambda _key, _message_id: None)  # the run died mid-handover: `unknown`
    assert History(store).sent_between(moment("2026-11-01 00:00"), moment("2026-11-30 00:00")) == []
    DeliveryLog(store, moment("2026-11-07 10:00")).mark(key, "sent", "found in the server log")
    assert History(store).sent_between(moment("2026-11-01 00:00"), moment("2026-11-30 00:00")) == [
        moment("2026-11-07 10:00")
    ]


def test_the_log_itself_never_turns_a_sent_delivery_into_failed_without_force(
    store: Store,
) -> None:
    """Whoever calls `mark`, a sent delivery stays sent unless the change is forced."""
    key = ("certificate", "C1", "P1")
    log = DeliveryLog(store, moment("2026-11-06 09:00"))
    claim = log.claim(Decided(key, moment("2026-11-06 09:00"), {}), SENDER)
    log.record(claim, "sent")
    log.flush()
    with pytest.raises(MarkRefused) as refused:
        log.mark(key, "failed", "bounced")
    assert (refused.value.current, refused.value.wanted) == ("sent", "failed")
    assert log.retry("failed", "all") == 0
    assert log.mark(key, "sent", "again") == "sent"  # the same state: nothing written
    assert log.mark(key, "failed", "bounced", force=True) == "sent"
    assert History(store).events(claim.id)[-1]["detail"] == "marked by hand (was sent): bounced"
    with pytest.raises(MarkRefused):  # nothing to fail where nothing was made
        log.mark(("certificate", "C1", "P2"), "failed", "bounced")
