"""Renewal reminders decided with the whole register at once agree with one person's (explain)
and one course's decisions, whatever the register and the bookings say."""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from certify.config import Config, load
from certify.decide.decisions import Decision
from certify.decide.plan import make_plan
from certify.decide.renewal import Renewals
from certify.store.database import Store
from tests.decide.test_plan import summary_of
from tests.helpers import (
    BASE_ACTIONS,
    CERT_ACTION,
    TEXT_TEMPLATE,
    import_into,
    moment,
    write_export,
)

PEOPLE = ("P1", "P2", "P3")
# three courses that ended, each person in each; R1, a refresher still to come
ENDS = {"C1": date(2025, 3, 7), "C2": date(2025, 9, 12), "C3": date(2026, 2, 27)}
NOW = "2026-11-20 12:00"
REMINDER = """
  - id: refresher
    name: "Refresher [Opleiding:Naam]"
    email_template: certificate
    timing: {{before: certificate_expiry, of: certificate, offset: 6, unit: weeks, at: "09:00"}}
    since: {since}
    {expire}
"""
# per course and person: no certificate, or (days valid after the course's end or None,
# its state, whether a second one of the same course is held too)
HELD = st.one_of(
    st.none(),
    st.tuples(
        st.one_of(st.none(), st.integers(250, 700)),
        st.sampled_from(["valid", "valid", "revoked", "withdrawn", "superseded"]),
        st.booleans(),
    ),
)
Held = tuple[int | None, str, bool] | None


def _export(tmp_path: Path, refresher: tuple[str, str, str], cancelled: str | None) -> Path:
    kind, status, booking = refresher
    courses = "course_id,name,course_type,status,start,end\n" + "".join(
        f"{course},VCA {course},VCA,final,{end - timedelta(days=4)},{end}\n"
        for course, end in ENDS.items()
    )
    courses += f"R1,Refresher,{kind},{status},2026-12-01,2026-12-05 17:00\n"
    enrollments = "course_id,person_id,status,enrolled_at\n" + "".join(
        f"{course},{person},{'cancelled' if (course, person) == (cancelled, 'P3') else 'enrolled'},"
        "2024-10-01\n"
        for course in ENDS
        for person in PEOPLE
    )
    enrollments += f"R1,P1,{booking},2026-10-01\nR1,P2,enrolled,2026-10-01\n"
    return write_export(
        tmp_path / "export",
        courses=courses,
        course_types="course_type,attendance_percentage\nVCA,100\nBHV,100\n",
        persons="person_id,email\n" + "".join(f"{p},{p.lower()}@example.org\n" for p in PEOPLE),
        enrollments=enrollments,
        parts=None,
        attendance=None,
        results=None,
    )


def _register(db: Path, held: list[Held]) -> None:
    """The certificates of `held`, one entry per course and person in order."""
    pairs = [(course, person) for course in ENDS for person in PEOPLE]
    with sqlite3.connect(db) as conn:
        for number, ((course, person), entry) in enumerate(zip(pairs, held, strict=True)):
            if entry is None:
                continue
            days, state, twice = entry
            end = ENDS[course]
            until = (end + timedelta(days=days)).isoformat() if days is not None else None
            copies = [(f"N{number}", end, until)]
            if twice:  # the same course again: issued later, valid a month longer
                later = (end + timedelta(days=(days or 300) + 30)).isoformat()
                copies.append((f"M{number}", end + timedelta(days=1), later))
            for name, issued, valid in copies:
                conn.execute(
                    "INSERT INTO certificates (number, code, action, course_id, person_id, "
                    "course_name, language, issued_on, valid_until, source, issued_at, "
                    "revoked_at, withdrawn_at, superseded_by, changed_at) "
                    "VALUES (?, ?, 'certificate', ?, ?, ?, 'en', ?, ?, 'imported', "
                    "'2026-01-01T00:00:00Z', ?, ?, ?, '2026-01-01T00:00:00Z')",
                    (
                        name,
                        name,
                        course,
                        person,
                        f"VCA {course}",
                        issued.isoformat(),
                        valid,
                        "2026-02-01T00:00:00Z" if state == "revoked" else None,
                        "2026-02-01T00:00:00Z" if state == "withdrawn" else None,
                        "X" if state == "superseded" and name.startswith("N") else None,
                    ),
                )
        # something logged for the certificate action: the plan decides row by row then
        conn.execute(
            "INSERT INTO deliveries (action, course_id, person_id, state, created_at, "
            "updated_at) VALUES ('certificate', 'C1', 'P1', 'sent', '2025-03-09T08:00:00Z', "
            "'2025-03-09T08:00:00Z')"
        )
    conn.close()


def _config(tmp_path: Path, since: str, expire: str | None) -> Config:
    """make_config's certificate action valid for a year, and a reminder six weeks before."""
    certificate = CERT_ACTION.format(
        after="course_end",
        offset=0,
        unit="days",
        at="",
        since="since: 2020-01-01",
        expire="validity: 1 year",
        status="final",
        attendance="no",
        passing="no",
    )
    reminder = REMINDER.format(since=since, expire=f"expire_after: {expire}" if expire else "")
    (tmp_path / "actions.yaml").write_text(BASE_ACTIONS.format(actions=certificate + reminder))
    (tmp_path / "templates").mkdir(exist_ok=True)
    (tmp_path / "templates" / "certificate.txt.j2").write_text(TEXT_TEMPLATE)
    return load(tmp_path / "actions.yaml")


def _reminders(decisions: list[Decision]) -> dict[tuple[str, str, str], tuple[object, ...]]:
    return {
        d.key: (d.outcome, d.due_at, tuple(d.waiting_on))
        for d in decisions
        if d.action.id == "refresher"
    }


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    held=st.lists(HELD, min_size=9, max_size=9),
    refresher=st.tuples(
        st.sampled_from(["VCA", "BHV"]),
        st.sampled_from(["final", "cancelled"]),
        st.sampled_from(["enrolled", "cancelled"]),
    ),
    cancelled=st.sampled_from([None, "C2", "C3"]),
    since=st.sampled_from(["2025-01-01", "2026-01-15", "2026-06-01"]),
    expire=st.sampled_from([None, "60 days"]),
    logged=st.booleans(),
)
# due and skipped for a newer one, held twice, revoked, waiting on the refresher booked
@example(
    held=[
        (300, "valid", False),
        (400, "valid", True),
        (300, "revoked", False),
        (500, "valid", False),
        None,
        (None, "valid", False),
        (260, "superseded", True),
        (300, "withdrawn", False),
        (600, "valid", False),
    ],
    refresher=("VCA", "final", "enrolled"),
    cancelled="C3",
    since="2025-01-01",
    expire=None,
    logged=True,
)
def test_reminders_decided_at_once_agree_with_each_persons_and_each_courses(
    tmp_path_factory: pytest.TempPathFactory,
    held: list[Held],
    refresher: tuple[str, str, str],
    cancelled: str | None,
    since: str,
    expire: str | None,
    logged: bool,
) -> None:
    """The whole run's plan (the register read once), explain's (one person) and a course's:
    the same outcome, due moment and reason for every reminder; the waiting summary and the
    count of skipped ones agree with the decisions they count."""
    tmp_path = tmp_path_factory.mktemp("renewals")
    db = tmp_path / "certify.db"
    import_into(db, _export(tmp_path, refresher, cancelled), now="2026-11-01 08:00")
    _register(db, held)
    if not logged:
        with sqlite3.connect(db) as conn:
            conn.execute("DELETE FROM deliveries")
        conn.close()
    config = _config(tmp_path, since, expire)
    now = moment(NOW)
    store = Store.open_readonly(db)
    try:
        whole = make_plan(store, config, now)
        everyone = _reminders(whole.decisions)
        by_person: dict[tuple[str, str, str], tuple[object, ...]] = {}
        for person in PEOPLE:
            by_person |= _reminders(make_plan(store, config, now, person_id=person).decisions)
        by_course: dict[tuple[str, str, str], tuple[object, ...]] = {}
        for course in (*ENDS, "R1"):
            by_course |= _reminders(make_plan(store, config, now, course_id=course).decisions)
        listed = whole.listed("send")
        sent = whole.by_outcome("send")
        # the report reads every holder at once: it knows what one person's reading knows
        at_once = Renewals(store.conn, config.actions, config.actions, now, everyone=True)
        each = Renewals(store.conn, config.actions, config.actions, now)
        for person in (*PEOPLE, "P9"):
            assert at_once.newest("certificate", person) == each.newest("certificate", person)
            for course in (*ENDS, "R1"):
                first = at_once.held("certificate", course, person)
                assert first == each.held("certificate", course, person)
                if first is not None:
                    booked = at_once.refresher("certificate", first, now, config.tz)
                    assert booked == each.refresher("certificate", first, now, config.tz)
    finally:
        store.close()
    holders = {
        (c, p)
        for (c, p), entry in zip(((c, p) for c in ENDS for p in PEOPLE), held, strict=True)
        if entry and (entry[1] != "superseded" or entry[2])  # one not superseded is held
    }
    assert {(c, p) for _, c, p in everyone} >= holders
    assert everyone == {k: v for k, v in by_person.items() if k in everyone}
    # what one person's plan says of a course they hold no certificate of, the run's need not
    assert {k for k, v in by_person.items() if v[0] != "not_linked"} <= set(everyone)
    assert everyone == {k: v for k, v in by_course.items() if k in everyone}
    assert listed == [(*d.key, d.due_at) for d in sent]
    assert whole.waiting_summary() == Counter(dict(summary_of(whole.decisions)))
    assert whole.count_unlogged("skipped") == sum(
        1 for d in whole.decisions if d.outcome == "skipped" and d.existing is None
    )
