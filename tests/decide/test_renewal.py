"""Renewal reminders: timed before the expiry of another action's certificates."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import date, datetime
from email import message_from_bytes, policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from certify import words
from certify.decide.renewal import expiry_due
from certify.decide.rules import valid_until
from certify.decide.timings import parse_validity
from tests.helpers import DEMO_NOW, TO_OUTBOX, cli, rows, states

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
# the demo's VCA-2611 ends 12 November 2026: valid through 12 November 2027, and the
# reminder six weeks before is due 1 October 2027 at 09:00 (summer time)
DUE = "2027-10-01T09:00"
HOLDERS = {"P001", "P002", "P003", "P008"}
REMINDER = """
  - id: refresher-6w
    name: "Refresher [Opleiding:Naam]"
    email_template: proof_of_participation
    timing: {before: certificate_expiry, of: certificate, offset: 6, unit: weeks, at: "09:00"}
"""


@pytest.fixture(autouse=True)
def _english(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reasons are asserted in English (the examples' actions.yaml says `locale: nl`)."""
    monkeypatch.setenv("CERTIFY_LANG", "en")


def _configure(folder: Path, reminder: str = REMINDER, *, validity: bool = True) -> None:
    actions = folder / "actions.yaml"
    text = actions.read_text()
    if validity:
        text = text.replace(
            "    expire_after: 60 days\n", "    expire_after: 60 days\n    validity: 1 year\n", 1
        )
    actions.write_text(text.replace("\n# The register", reminder + "\n# The register", 1))


@pytest.fixture
def issued(switched_on: Path) -> Path:
    """The demo with `validity: 1 year` and a six-week reminder; its certificates issued."""
    _configure(switched_on)
    assert cli("run-due", "--now", DEMO_NOW, *TO_OUTBOX, cwd=switched_on).returncode == 0
    return switched_on


def reminded(outbox: Path) -> list[str]:
    """The persons the outbox holds a reminder for, one entry per message."""
    found = []
    for file in outbox.glob("*.eml"):
        message = message_from_bytes(file.read_bytes(), policy=policy.default)
        if message["X-Certify-Action"] == "refresher-6w":
            found.append(str(message["X-Certify-Person"]))
    return sorted(found)


def reimport(folder: Path, now: str, **extra: str) -> None:
    """Import the examples again with rows added to (or replaced in) their files."""
    examples = folder / "examples"
    for name, text in extra.items():
        path = examples / f"{name}.csv"
        lines = path.read_text().splitlines()
        added = [line for line in text.strip().splitlines()]
        keys = {line.split(",")[0] + line.split(",")[1] for line in added}
        kept = [line for line in lines if line.split(",")[0] + line.split(",")[1] not in keys]
        path.write_text("\n".join(kept + added) + "\n")
    ran = cli("import", "examples", "--now", now, cwd=folder)
    assert ran.returncode == 0, ran.stderr


def explain(folder: Path, person: str, now: str) -> str:
    """`explain` of the person's VCA-2611 enrollment, its wrapped lines joined again."""
    ran = cli("explain", "--course", "VCA-2611", "--person", person, "--now", now, cwd=folder)
    assert ran.returncode == 0, ran.stderr
    return " ".join(ran.stdout.split())


def state_of(folder: Path, person: str) -> str:
    return states(folder / "certify.db").get(("refresher-6w", "VCA-2611", person), "")


# -- the rules ---------------------------------------------------------------------------------


def test_a_year_after_29_february_is_valid_through_28_february() -> None:
    assert valid_until(date(2028, 2, 29), parse_validity("1 year")) == date(2029, 2, 28)
    assert valid_until(date(2027, 2, 28), parse_validity("1 year")) == date(2028, 2, 28)
    due = expiry_due(date(2029, 2, 28), 6, "weeks", datetime(1, 1, 1, 9).time(), AMSTERDAM)
    assert due == datetime(2029, 1, 17, 9, tzinfo=AMSTERDAM)


def test_the_reminder_keeps_its_wall_clock_time_across_a_clock_change() -> None:
    nine = datetime(1, 1, 1, 9).time()
    # valid through 20 April (summer time); six weeks before is 9 March (winter time)
    winter = expiry_due(date(2027, 4, 20), 6, "weeks", nine, AMSTERDAM)
    summer = expiry_due(date(2027, 11, 12), 6, "weeks", nine, AMSTERDAM)
    assert winter.isoformat() == "2027-03-09T09:00:00+01:00"
    assert summer.isoformat() == "2027-10-01T09:00:00+02:00"
    # hours count back from the midnight after the last valid day, in elapsed time: 24
    # hours before midnight of a 23-hour day is 23:00 the day before
    assert expiry_due(date(2027, 3, 28), 24, "hours", None, AMSTERDAM).isoformat() == (
        "2027-03-27T23:00:00+01:00"
    )


# -- validate ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reminder", "said"),
    [
        (REMINDER.replace("of: certificate", "of: certificaat"), "names no action 'certificaat'"),
        (
            REMINDER.replace("of: certificate", "of: proof-of-participation"),
            "action 'proof-of-participation' has no `validity`",
        ),
        (
            REMINDER + "    conditions: {attendance: yes}\n",
            "cannot have the condition attendance",
        ),
        (
            REMINDER + "    conditions: {course_status: final, pass: yes}\n",
            "cannot have the condition course_status, pass",
        ),
    ],
)
def test_validate_locates_what_a_reminder_cannot_name_or_check(
    examples: Path, reminder: str, said: str
) -> None:
    _configure(examples, reminder)
    ran = cli("validate", cwd=examples)
    assert ran.returncode != 0
    output = ran.stdout + ran.stderr
    assert said in output
    assert "actions.yaml:" in output and "Traceback" not in output


def test_validate_warns_of_a_reminder_of_an_action_that_issues_no_certificate(
    issued: Path,
) -> None:
    """The proof of participation attaches no PDF: with a validity, a reminder of it passes
    validate, but nothing can ever be reminded (unless certificates of it are imported)."""
    actions = issued / "actions.yaml"
    text = actions.read_text().replace("of: certificate", "of: proof-of-participation")
    proof = text.index("  - id: proof-of-participation")
    end = text.index("    expire_after: 60 days\n", proof) + len("    expire_after: 60 days\n")
    actions.write_text(text[:end] + "    validity: 1 year\n" + text[end:])
    assert cli("validate", cwd=issued).returncode == 0  # the file itself is right
    ran = cli("validate", "--db", "certify.db", cwd=issued)
    said = " ".join((ran.stdout + ran.stderr).split())
    assert ran.returncode == 0, said
    assert (
        "action 'proof-of-participation' attaches no certificate, so it issues none: this "
        "reminder can only follow certificates imported for it, and there are none" in said
    )
    assert re.search(r"actions\.yaml:\d+:\d+: action 'proof-of-participation' attaches", said)
    # the reminder of the certificate action, which attaches one, is not warned about
    actions.write_text(text.replace("of: proof-of-participation", "of: certificate"))
    ran = cli("validate", "--db", "certify.db", cwd=issued)
    assert "attaches no certificate" not in ran.stdout + ran.stderr


# -- end to end --------------------------------------------------------------------------------


def test_each_certificate_gets_one_reminder_at_its_due_moment(issued: Path) -> None:
    before = cli("run-due", "--now", "2027-10-01T08:59", *TO_OUTBOX, cwd=issued)
    assert before.returncode == 0 and reminded(issued / "outbox") == []
    explained = explain(issued, "P001", "2027-10-01T08:59")
    assert "2027-10-01 09:00 CEST (6 weeks before certificate expiry of certificate" in explained
    dry = cli("run-due", "--now", "2027-10-01T09:00", "--dry-run", cwd=issued)
    assert dry.returncode == 0 and "would send 4" in dry.stdout
    assert cli("run-due", "--now", "2027-10-01T09:00", *TO_OUTBOX, cwd=issued).returncode == 0
    assert reminded(issued / "outbox") == sorted(HOLDERS)
    assert cli("run-due", "--now", "2027-10-08T09:00", *TO_OUTBOX, cwd=issued).returncode == 0
    assert reminded(issued / "outbox") == sorted(HOLDERS)  # never twice
    # nobody without a certificate of the course gets one or a record of it
    assert {key[2] for key in states(issued / "certify.db") if key[0] == "refresher-6w"} == HOLDERS


def test_a_reminder_s_template_sees_the_certificate_it_reminds_of(switched_on: Path) -> None:
    """`certificate` in a reminder is the certificate that expires: its number, code,
    verification URL and end of validity, so the invitation can say which and when."""
    (switched_on / "templates" / "refresher_invitation.txt.j2").write_text(
        '---\nsubject: "Verloopt [Certificaat:GeldigTot]"\n---\n'
        "{{ certificate.number }} [Certificaat:Nummer] {{ certificate.code }} "
        "{{ certificate.verify_url }} {{ certificate.issued_on }} {{ certificate.valid_until }}\n"
    )
    _configure(switched_on, REMINDER.replace("proof_of_participation", "refresher_invitation"))
    assert cli("validate", cwd=switched_on).returncode == 0
    assert cli("run-due", "--now", DEMO_NOW, *TO_OUTBOX, cwd=switched_on).returncode == 0
    entry = json.loads(
        cli("certificates", "list", "--json", "--person", "P001", cwd=switched_on).stdout
    )[0]
    assert cli("run-due", "--now", DUE, *TO_OUTBOX, cwd=switched_on).returncode == 0
    (sent,) = [
        message_from_bytes(file.read_bytes(), policy=policy.default)
        for file in (switched_on / "outbox").glob("*.eml")
        if b"X-Certify-Action: refresher-6w" in file.read_bytes()
        and b"X-Certify-Person: P001" in file.read_bytes()
    ]
    body = sent.get_content()
    number, code = entry["number"], entry["code"]
    assert body.split() == [
        number, number, code, f"https://example.org/certificaat/{code}", "2026-11-20", "2027-11-12"
    ]  # fmt: skip
    assert str(sent["Subject"]) == "Verloopt 12 november 2027"  # in the person's language


def test_the_certificate_mail_says_until_when_it_is_valid_in_the_person_s_language(
    switched_on: Path,
) -> None:
    _configure(switched_on)
    with sqlite3.connect(switched_on / "certify.db") as conn:
        conn.execute("UPDATE persons SET language = 'en' WHERE person_id = 'P003'")
    conn.close()
    assert cli("run-due", "--now", DEMO_NOW, *TO_OUTBOX, cwd=switched_on).returncode == 0
    said = {}
    for file in (switched_on / "outbox").glob("certificate--*.eml"):
        message = message_from_bytes(file.read_bytes(), policy=policy.default)
        plain, html = message.get_body(("plain",)), message.get_body(("html",))
        assert plain is not None and html is not None
        text = " ".join(plain.get_content().split())
        said[str(message["X-Certify-Person"])] = (text, " ".join(html.get_content().split()))
    assert "Het certificaat is geldig tot en met 12 november 2027." in said["P001"][0]
    assert "geldig tot en met <strong>12 november 2027</strong>" in said["P001"][1]
    assert "The certificate is valid until 12 November 2027." in said["P003"][0]
    assert "valid until <strong>12 November 2027</strong>" in said["P003"][1]


def test_a_reminder_linked_to_course_types_reminds_only_of_their_certificates(
    switched_on: Path,
) -> None:
    """One certificate action for VCA and BHV, one reminder per type: `course_types` on a
    reminder says which certificates it is for, as on any action."""
    _configure(switched_on, REMINDER + "    course_types: [BHV]\n")
    assert cli("run-due", "--now", DEMO_NOW, *TO_OUTBOX, cwd=switched_on).returncode == 0
    assert cli("run-due", "--now", DUE, *TO_OUTBOX, cwd=switched_on).returncode == 0
    assert reminded(switched_on / "outbox") == []  # the VCA certificates: not this reminder's
    assert "course type VCA is not linked to this action (linked: BHV)" in explain(
        switched_on, "P001", DUE
    )
    assert not [key for key in states(switched_on / "certify.db") if key[0] == "refresher-6w"]


def test_a_reminder_linked_to_a_type_weighs_only_certificates_and_courses_of_it(
    switched_on: Path,
) -> None:
    """With one certificate action for VCA and BHV, the VCA reminder is neither held by a
    BHV course booked nor skipped for a BHV certificate valid longer: neither renews VCA."""
    _configure(switched_on, REMINDER + "    course_types: [VCA]\n")
    assert cli("run-due", "--now", DEMO_NOW, *TO_OUTBOX, cwd=switched_on).returncode == 0
    reimport(
        switched_on,
        "2027-09-01T08:00",
        courses="BHV-2710,BHV Basis,BHV,planned,2027-10-18,2027-10-20,Utrecht",
        enrollments="BHV-2710,P003,enrolled,2027-08-01\nBHV-2710,P001,enrolled,2027-08-01",
    )
    with sqlite3.connect(switched_on / "certify.db") as conn:
        conn.execute(
            "INSERT INTO certificates (number, code, action, course_id, person_id, "
            "course_name, language, issued_on, valid_until, source, issued_at, changed_at) "
            "VALUES ('BHV-1', 'ABCDEFGHJKMQ', 'certificate', 'BHV-2710', 'P001', 'BHV', 'nl', "
            "'2027-05-21', '2028-05-20', 'imported', '2027-06-01T06:00:00Z', "
            "'2027-06-01T06:00:00Z')"
        )
    conn.close()
    for person in ("P001", "P003"):
        assert "Refresher: send" in explain(switched_on, person, DUE), person
    assert cli("run-due", "--now", DUE, *TO_OUTBOX, cwd=switched_on).returncode == 0
    assert reminded(switched_on / "outbox") == sorted(HOLDERS)


def test_a_revoked_certificate_gets_no_reminder(issued: Path) -> None:
    number = listed_number(issued, "P002")
    assert cli("certificates", "revoke", number, "--reason", "fraud", cwd=issued).returncode == 0
    assert cli("run-due", "--now", DUE, *TO_OUTBOX, cwd=issued).returncode == 0
    assert "P002" not in reminded(issued / "outbox")
    assert state_of(issued, "P002") == "skipped"
    figures = rows(
        issued / "certify.db",
        "SELECT figures FROM deliveries WHERE action = 'refresher-6w' AND person_id = 'P002'",
    )
    assert f"certificate {number} is revoked" in str(figures[0][0])


def test_a_reminder_skipped_for_its_certificate_says_why_not_that_it_is_history(
    issued: Path,
) -> None:
    """A reminder skipped because its certificate was revoked is no history before `since`:
    the run, explain and the report say the reason."""
    number = listed_number(issued, "P002")
    assert cli("certificates", "revoke", number, "--reason", "fraud", cwd=issued).returncode == 0
    explained = explain(issued, "P002", DUE)
    assert f"Refresher: skipped — skipped: certificate {number} is revoked" in explained
    assert "due before the action's `since`" not in explained.split("Refresher: skipped")[1]
    ran = cli("run-due", "--now", DUE, *TO_OUTBOX, cwd=issued)
    assert ran.returncode == 0, ran.stderr
    said = " ".join(ran.stdout.split())
    assert f"skipped: Refresher VCA-2611/P002: certificate {number} is revoked" in said
    assert "due before the action's `since`" not in said
    assert "skipped 1" in said  # still counted with the skipped
    explained = explain(issued, "P002", "2027-10-02T09:00")
    assert f"Refresher: skipped — skipped: certificate {number} is revoked" in explained
    assert words.kind_detail("skipped", None, None, ["certificate X is revoked"]) == (
        "certificate X is revoked"
    )
    assert words.kind_detail("skipped", None, None, []) == "due before the action was switched on"


def test_a_newer_certificate_from_another_course_skips_the_reminder_with_the_reason(
    issued: Path,
) -> None:
    reimport(
        issued,
        "2027-06-01T08:00",
        courses="VCA-2705,VCA Basis veiligheid,VCA,final,2027-05-03,2027-05-20,Utrecht",
        enrollments="VCA-2705,P003,enrolled,2027-04-01",
    )
    with sqlite3.connect(issued / "certify.db") as conn:
        conn.execute(
            "INSERT INTO certificates (number, code, action, course_id, person_id, "
            "course_name, language, issued_on, valid_until, source, changed_at) VALUES "
            "('OLD-1', 'ABCDEFGHJKMN', 'certificate', 'VCA-2705', 'P003', 'VCA', 'nl', "
            "'2027-05-21', '2028-05-20', 'imported', '2027-06-01T06:00:00Z')"
        )
    explained = explain(issued, "P003", DUE)
    assert "Refresher: skipped" in explained
    assert "holds a newer certificate OLD-1 (course VCA-2705, valid until 2028-05-20)" in explained
    assert cli("run-due", "--now", DUE, *TO_OUTBOX, cwd=issued).returncode == 0
    assert "P003" not in reminded(issued / "outbox")
    assert state_of(issued, "P003") == "skipped"


def expiring_rows(folder: Path, now: str) -> dict[str, str]:
    """The report's "expiring" section: per holder, their row's text."""
    page = folder / "report.html"
    made = cli("report", "--out", str(page), "--now", now, cwd=folder)
    assert made.returncode == 0, made.stderr
    section = page.read_text().split('id="expiring"')[1].split("<h2")[0]
    return {
        person: " ".join(re.sub(r"<[^>]+>", " ", row).split())
        for row in section.split("<tr>")[2:]
        for person in HOLDERS
        if f">{person}<" in row
    }


def test_the_report_says_a_renewed_certificate_needs_no_reminder(issued: Path) -> None:
    """A certificate whose holder has a newer one valid longer is listed as expiring, but
    not as "not reminded yet": its reminder is skipped, and the report says why."""
    reimport(
        issued,
        "2027-06-01T08:00",
        courses="VCA-2705,VCA Basis veiligheid,VCA,final,2027-05-03,2027-05-20,Utrecht",
        enrollments="VCA-2705,P003,enrolled,2027-04-01",
    )
    with sqlite3.connect(issued / "certify.db") as conn:
        conn.execute(
            "INSERT INTO certificates (number, code, action, course_id, person_id, "
            "course_name, language, issued_on, valid_until, source, issued_at, changed_at) "
            "VALUES ('OLD-1', 'ABCDEFGHJKMN', 'certificate', 'VCA-2705', 'P003', 'VCA', 'nl', "
            "'2027-05-21', '2028-05-20', 'imported', '2027-06-01T06:00:00Z', "
            "'2027-06-01T06:00:00Z')"
        )
    before = expiring_rows(issued, "2027-09-20T10:00")  # the reminder is not due yet
    assert "renewed: holds OLD-1, valid until 2028-05-20" in before["P003"]
    assert "not reminded yet" in before["P001"]
    assert cli("run-due", "--now", DUE, *TO_OUTBOX, cwd=issued).returncode == 0
    after = expiring_rows(issued, "2027-10-02T10:00")
    assert "renewed: holds OLD-1, valid until 2028-05-20" in after["P003"]
    assert "reminded on 2027-10-01" in after["P001"]
    with sqlite3.connect(issued / "certify.db") as conn:  # P001 renews after the reminder
        conn.execute(
            "INSERT INTO certificates (number, code, action, course_id, person_id, "
            "course_name, language, issued_on, valid_until, source, issued_at, changed_at) "
            "VALUES ('OLD-2', 'ABCDEFGHJKMP', 'certificate', 'VCA-2705', 'P001', 'VCA', 'nl', "
            "'2027-10-21', '2028-10-20', 'imported', '2027-10-21T06:00:00Z', "
            "'2027-10-21T06:00:00Z')"
        )
    last = expiring_rows(issued, "2027-10-22T10:00")
    assert "reminded on 2027-10-01; renewed: holds OLD-2, valid until 2028-10-20" in last["P001"]


def test_a_booked_refresher_holds_the_reminder_until_it_is_cancelled(issued: Path) -> None:
    reimport(
        issued,
        "2027-09-01T08:00",
        courses="VCA-2710,VCA Herhaling,VCA,planned,2027-10-18,2027-10-20,Utrecht",
        enrollments="VCA-2710,P003,enrolled,2027-08-01",
    )
    assert cli("run-due", "--now", DUE, *TO_OUTBOX, cwd=issued).returncode == 0
    assert "P003" not in reminded(issued / "outbox")
    explained = explain(issued, "P003", DUE)
    assert "Refresher: waiting" in explained
    assert "enrolled in the refresher course VCA-2710 (VCA Herhaling)" in explained
    page = issued / "report.html"
    made = cli("report", "--out", str(page), "--now", "2027-10-01T10:00", cwd=issued)
    assert made.returncode == 0, made.stderr
    section = page.read_text().split('id="expiring"')[1].split("<h2")[0]
    rows_of = {
        person: " ".join(re.sub(r"<[^>]+>", " ", row).split())
        for row in section.split("<tr>")[2:]
        for person in HOLDERS
        if f">{person}<" in row
    }
    assert "reminded on 2027-10-01" in rows_of["P001"] and "not booked" in rows_of["P001"]
    assert "VCA Basis veiligheid (VCA-2611), Certificate" in rows_of["P001"]  # by its name
    assert "not reminded yet" in rows_of["P003"]
    assert "booked: VCA Herhaling (VCA-2710)" in rows_of["P003"]
    reimport(issued, "2027-10-02T08:00", enrollments="VCA-2710,P003,geannuleerd,2027-08-01")
    assert cli("run-due", "--now", "2027-10-02T09:00", *TO_OUTBOX, cwd=issued).returncode == 0
    assert reminded(issued / "outbox").count("P003") == 1


def test_a_refresher_that_has_ended_holds_the_reminder_no_longer(issued: Path) -> None:
    """The booking holds the reminder while the refresher has not ended; after its end a
    person who did not pass it (no newer certificate) is reminded after all."""
    reimport(
        issued,
        "2027-09-01T08:00",
        courses="VCA-2710,VCA Herhaling,VCA,final,2027-10-18,2027-10-20,Utrecht",
        enrollments="VCA-2710,P008,enrolled,2027-08-01",
        parts="VCA-2710-1,VCA-2710,Examen,20-10-2027 09:00,20-10-2027 12:00,ja,ja",
    )
    assert cli("run-due", "--now", DUE, *TO_OUTBOX, cwd=issued).returncode == 0
    assert "P008" not in reminded(issued / "outbox")
    assert "enrolled in the refresher course VCA-2710" in explain(issued, "P008", DUE)
    with (issued / "examples" / "results.csv").open("a") as results:
        results.write("VCA-2710-1;P008;nee;4,0;20-10-2027 15:00\n")
    reimport(issued, "2027-10-20T16:00", attendance="VCA-2710-1,P008,ja,20-10-2027 12:05")
    assert cli("run-due", "--now", "2027-10-20T20:00", *TO_OUTBOX, cwd=issued).returncode == 0
    assert "P008" not in reminded(issued / "outbox")
    assert cli("run-due", "--now", "2027-10-21T09:00", *TO_OUTBOX, cwd=issued).returncode == 0
    assert reminded(issued / "outbox").count("P008") == 1


def test_a_certificate_whose_enrollment_a_snapshot_cancelled_later_is_still_reminded(
    issued: Path,
) -> None:
    """An export that holds only recent enrollments cancels the old ones on a snapshot: the
    certificate stays valid in the register, and its reminder follows it all the same."""
    enrollments = issued / "examples" / "enrollments.csv"
    enrollments.write_text(
        "".join(
            line
            for line in enrollments.read_text().splitlines(keepends=True)
            if not line.startswith("VCA-2611,P001,")
        )
    )
    ran = cli("import", "examples", "--snapshot", "--now", "2027-09-01T08:00", cwd=issued)
    assert ran.returncode == 0 and "1 cancelled" in ran.stdout, ran.stdout + ran.stderr
    assert "Refresher: not_due" in explain(issued, "P001", "2027-09-01T09:00")
    assert cli("run-due", "--now", DUE, *TO_OUTBOX, cwd=issued).returncode == 0
    assert reminded(issued / "outbox") == sorted(HOLDERS)


def test_a_reissued_certificate_passes_its_reminder_on_once(issued: Path) -> None:
    number = listed_number(issued, "P008")
    ran = cli("certificates", "reissue", number, "--reason", "name", "--now", "2027-01-10T10:00",
              *TO_OUTBOX, cwd=issued)  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert cli("run-due", "--now", DUE, *TO_OUTBOX, cwd=issued).returncode == 0
    assert reminded(issued / "outbox").count("P008") == 1
    number = listed_number(issued, "P008")
    ran = cli("certificates", "reissue", number, "--reason", "again", "--now", "2027-10-02T10:00",
              *TO_OUTBOX, cwd=issued)  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert cli("run-due", "--now", "2027-10-03T09:00", *TO_OUTBOX, cwd=issued).returncode == 0
    assert reminded(issued / "outbox").count("P008") == 1


def test_a_reminder_too_late_expires_unsent(issued: Path) -> None:
    actions = issued / "actions.yaml"
    actions.write_text(
        actions.read_text().replace('at: "09:00"}\n', 'at: "09:00"}\n    expire_after: 1 week\n')
    )
    assert cli("run-due", "--now", "2027-10-09T09:00", *TO_OUTBOX, cwd=issued).returncode == 0
    assert reminded(issued / "outbox") == []
    assert {state_of(issued, person) for person in HOLDERS} == {"expired"}


def test_a_reminder_switched_on_after_its_due_moments_skips_them_unmailed(
    switched_on: Path,
) -> None:
    _configure(switched_on, "")
    assert cli("run-due", "--now", DEMO_NOW, *TO_OUTBOX, cwd=switched_on).returncode == 0
    _configure(switched_on, validity=False)  # the reminder is new, the validity was there
    assert cli("run-due", "--now", "2027-10-05T10:00", *TO_OUTBOX, cwd=switched_on).returncode == 0
    assert reminded(switched_on / "outbox") == []
    assert {state_of(switched_on, person) for person in HOLDERS} == {"skipped"}
    assert cli("run-due", "--now", "2027-10-06T10:00", *TO_OUTBOX, cwd=switched_on).returncode == 0
    assert reminded(switched_on / "outbox") == []


def listed_number(folder: Path, person: str) -> str:
    with sqlite3.connect(folder / "certify.db") as conn:
        (number,) = conn.execute(
            "SELECT number FROM certificates WHERE person_id = ? AND superseded_by IS NULL "
            "AND course_id = 'VCA-2611'",
            (person,),
        ).fetchone()
    return str(number)


# -- certificates of the previous system ---------------------------------------------------------

EARLIER = """number,person_id,course_id,action,issued_on,valid_until
OUD-17,P028,VCA-2503,certificate,2025-03-25,2026-03-24
OUD-18,P029,VCA-2503,certificate,25-03-2025,2027-12-31
"""


def test_imported_certificates_join_the_register_and_get_their_reminders(issued: Path) -> None:
    (issued / "examples" / "certificates.csv").write_text(EARLIER)
    ran = cli("import", "examples", "--now", "2026-11-21T08:00", cwd=issued)
    assert ran.returncode == 0, ran.stderr
    assert "certificates: 2 imported" in ran.stdout and "not a known table" not in ran.stderr
    listed = cli("certificates", "list", "--json", "--person", "P029", cwd=issued)
    (entry,) = [e for e in json.loads(listed.stdout) if e["number"] == "OUD-18"]
    assert (entry["source"], entry["valid_until"], entry["state"]) == (
        "imported", "2027-12-31", "valid",
    )  # fmt: skip
    # six weeks before 31 December 2027 is 19 November 2027
    dry = cli("run-due", "--now", "2027-11-19T09:00", "--dry-run", cwd=issued)
    assert "would send: Refresher VCA-2503/P029" in dry.stdout
    assert "P028" not in dry.stdout  # expired long before the reminder was switched on
    site = issued / "site"
    assert cli("certificates", "publish", "--out", str(site), cwd=issued).returncode == 0
    assert entry["code"] not in {path.name for path in site.iterdir()}
    again = cli("certificates", "publish", "--out", str(site), "--include-imported", cwd=issued)
    assert again.returncode == 0 and (site / entry["code"] / "index.html").exists()
    # importing the same file again changes nothing
    ran = cli("import", "examples", "--now", "2026-11-22T08:00", cwd=issued)
    assert "certificates: 0 imported" in ran.stdout


def test_an_imported_certificate_is_found_by_its_own_number_and_can_be_revoked(
    issued: Path,
) -> None:
    """The previous system's numbers have their own shape: verify, get and revoke find them
    as typed, and a revoked imported certificate gets no reminder."""
    (issued / "examples" / "certificates.csv").write_text(EARLIER)
    assert cli("import", "examples", "--now", "2026-11-21T08:00", cwd=issued).returncode == 0
    verified = cli("certificates", "verify", "OUD-18", "--now", "2027-01-05T10:00", cwd=issued)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert (
        verified.stdout.startswith("OUD-18 valid:") and "valid until 2027-12-31" in verified.stdout
    )
    pdf = cli("certificates", "get", "OUD-18", "--out", str(issued / "c.pdf"), cwd=issued)
    assert pdf.returncode == 1 and "has no PDF kept (withdrawn or imported)" in pdf.stderr
    revoked = cli("certificates", "revoke", "OUD-18", "--reason", "never passed", cwd=issued)
    assert revoked.returncode == 0, revoked.stderr
    assert cli("certificates", "verify", "OUD-18", cwd=issued).returncode == 3
    # six weeks before 31 December 2027
    assert cli("run-due", "--now", "2027-11-19T09:00", *TO_OUTBOX, cwd=issued).returncode == 0
    assert "P029" not in reminded(issued / "outbox")
    assert states(issued / "certify.db")[("refresher-6w", "VCA-2503", "P029")] == "skipped"


def test_an_imported_certificate_of_a_course_the_person_is_not_enrolled_in_is_warned(
    issued: Path,
) -> None:
    """Reminders follow a certificate through its holder's enrollment in its course: one
    still valid without that enrollment could never be reminded, and the import says so."""
    (issued / "examples" / "certificates.csv").write_text(
        EARLIER
        + "OUD-30,P005,VCA-2503,certificate,2025-03-25,2027-12-31\n"  # P005: not in VCA-2503
        + "OUD-31,P006,VCA-2503,certificate,2025-03-25,2026-03-24\n"  # expired: no matter
    )
    ran = cli("import", "examples", "--now", "2026-11-21T08:00", cwd=issued)
    assert ran.returncode == 0, ran.stderr
    said = " ".join(ran.stderr.split())
    assert (
        "certificates.csv: 1 certificate still valid names a person not enrolled in its course "
        "(examples/certificates.csv:4: P005 in VCA-2503): no renewal reminder can follow it" in said
    )
    assert "P006" not in said
    assert rows(
        issued / "certify.db", "SELECT count(*) FROM certificates WHERE source = 'imported'"
    ) == [(4,)]


def test_an_imported_certificate_naming_nothing_known_is_a_located_error(issued: Path) -> None:
    (issued / "examples" / "certificates.csv").write_text(
        EARLIER + "OUD-19,P999,VCA-9999,certificaat,2025-13-01,\nOUD-17,P028,VCA-2503,,,\n"
    )
    ran = cli("import", "examples", "--now", "2026-11-21T08:00", cwd=issued)
    assert ran.returncode != 0 and "Traceback" not in ran.stderr
    said = " ".join(ran.stderr.split())
    for problem in (
        "certificates.csv:4: person_id: no person 'P999'",
        "certificates.csv:4: course_id: no course 'VCA-9999'",
        "certificates.csv:4: action: no action 'certificaat'",
        "certificates.csv:4: issued_on: cannot read '2025-13-01' as a date",
        "certificates.csv:5: action: empty",
        "certificates.csv:5: issued_on: empty",
    ):
        assert problem in said, problem
    assert rows(
        issued / "certify.db", "SELECT count(*) FROM certificates WHERE source = 'imported'"
    ) == [(0,)]


def test_a_bad_certificates_file_undoes_the_whole_import(issued: Path) -> None:
    """certificates.csv is part of the import's one transaction: its error leaves the other
    files of the same import unimported too, as any failed import does."""
    courses = issued / "examples" / "courses.csv"
    courses.write_text(courses.read_text().replace("VCA Basis veiligheid", "VCA Herzien"))
    (issued / "examples" / "certificates.csv").write_text(
        EARLIER + "OUD-19,P999,VCA-2503,certificate,2025-03-25,\n"
    )
    imports_before = rows(issued / "certify.db", "SELECT count(*) FROM imports")
    ran = cli("import", "examples", "--now", "2026-11-21T08:00", cwd=issued)
    assert ran.returncode != 0 and "certificates.csv:4: person_id: no person 'P999'" in ran.stderr
    names = rows(issued / "certify.db", "SELECT name FROM courses WHERE name LIKE 'VCA%'")
    assert ("VCA Herzien",) not in names and ("VCA Basis veiligheid",) in names
    assert rows(issued / "certify.db", "SELECT count(*) FROM imports") == imports_before
    assert rows(
        issued / "certify.db", "SELECT count(*) FROM certificates WHERE source = 'imported'"
    ) == [(0,)]


def test_an_imported_certificate_without_valid_until_is_valid_for_its_actions_validity(
    issued: Path,
) -> None:
    """As an issued certificate: the course's end date plus the action's `validity`; one of an
    action without a validity never expires, and the import says how many cannot be reminded."""
    (issued / "examples" / "certificates.csv").write_text(
        "number,person_id,course_id,action,issued_on,valid_until\n"
        "OUD-20,P029,VCA-2503,certificate,2025-03-25,\n"
        "OUD-21,P028,VCA-2503,proof-of-participation,2025-03-25,\n"
        "OUD-22,P029,VCA-2611,proof-of-participation,2026-11-13,\n"
    )
    ran = cli("import", "examples", "--now", "2026-11-21T08:00", cwd=issued)
    assert ran.returncode == 0, ran.stderr
    said = " ".join(ran.stderr.split())
    assert said.count("never expire") == 1  # one warning, with the count
    assert (
        "certificates.csv: 2 certificates have no valid_until and their actions "
        "(proof-of-participation) no validity to work it out from" in said
    )
    found = rows(
        issued / "certify.db",
        "SELECT number, valid_until FROM certificates WHERE source = 'imported' ORDER BY number",
    )
    # VCA-2503 ended 24 March 2025: valid through 24 March 2026
    assert found == [("OUD-20", "2026-03-24"), ("OUD-21", None), ("OUD-22", None)]
    # so its reminder is due six weeks before, as an issued one of that course's would be
    ran = cli("explain", "--course", "VCA-2503", "--person", "P029", "--now", DEMO_NOW, cwd=issued)
    assert ran.returncode == 0, ran.stderr
    assert "due: 2026-02-10 09:00" in " ".join(ran.stdout.split())
