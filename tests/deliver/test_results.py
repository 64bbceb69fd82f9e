"""What a run reports: a dry run's listed deliveries as JSON text, exactly as if each
had been made a `DeliveryResult` and encoded."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from certify.deliver.results import DeliveryResult, RunReport, list_would_send, would_send_json

NOW = datetime(2027, 1, 15, 11, 0, tzinfo=UTC)
LISTED = [
    ("certificate", "C1", "P1", NOW),
    ("proof", "C1", "P1", NOW),
    (
        "certificate",
        'C"2\\',
        "Zoë \u00e9\x01\n",
        datetime(2027, 1, 1, 9, tzinfo=timezone(timedelta(hours=1))),
    ),
    ("refresher", "C3", "P%s", None),
    ("certificate", "C1", "P2", NOW),
]


def shown_of(listed: list[tuple[str, str, str, datetime | None]]) -> list[DeliveryResult]:
    report = RunReport(NOW, dry_run=True)
    list_would_send(listed, report)
    return report.shown()


def encoded(report: RunReport) -> list[dict[str, object]]:
    return [d.as_json() for d in report.shown()]


def test_listed_deliveries_are_the_json_of_their_results() -> None:
    report = RunReport(NOW, dry_run=True, titles={"proof": "Proof of participation"})
    list_would_send(LISTED, report)
    assert report.sent == len(LISTED) and report.results == []
    shown = report.shown()
    assert [(d.action, d.course, d.person, d.state) for d in shown] == [
        (*key[:3], "would send") for key in LISTED
    ]
    assert shown[1].title == "Proof of participation" and shown[0].title is None
    assert shown[2].due_at == "2027-01-01T08:00:00Z" and shown[3].due_at is None
    text = "".join(report.deliveries_json())
    assert text == json.dumps(encoded(report), ensure_ascii=False)
    assert report.as_json()["deliveries"] == json.loads(text)


def test_made_results_come_before_the_listed_ones() -> None:
    report = RunReport(NOW, dry_run=True)
    report.results.append(
        DeliveryResult("certificate", "C9", "P9", "Ann", "a@example.org", "held", None, error="x")
    )
    assert "".join(report.deliveries_json()) == json.dumps(encoded(report), ensure_ascii=False)
    list_would_send(LISTED[:2], report)
    assert len(report.shown()) == 3
    assert "".join(report.deliveries_json()) == json.dumps(encoded(report), ensure_ascii=False)
    assert list(RunReport(NOW, dry_run=True).deliveries_json()) == ["[]"]


def test_listed_deliveries_come_in_pieces_of_the_same_text() -> None:
    """A large dry run's text is made piece by piece as it is written, never whole."""
    whole = "".join(would_send_json(LISTED))
    pieces = list(would_send_json(LISTED, chunk=2))
    assert len(pieces) == 3 and "".join(pieces) == whole
    assert json.loads(f"[{whole}]") == [d.as_json() for d in shown_of(LISTED)]
