"""`certify report`: the manager's HTML page, from the shipped examples and in a real browser."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest

from certify.config import load
from certify.deliver.log import Decided, DeliveryLog
from certify.report.chart import axis
from certify.report.page import build_report, render_report
from certify.store.database import Store
from tests.helpers import cli, file_digest, import_into, make_config, moment, write_export

SWITCH_ON = "2026-11-10T08:00"
DEMO_NOW = "2026-11-20T10:00"
SCRIPT_NAME = "<script>alert(1)</script>"
AMPERSAND_NAME = 'Zoë & "Co"'


def _append(path: Path, *lines: str) -> None:
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n") + "\n" + "\n".join(lines) + "\n")


@pytest.fixture
def awkward_demo(examples: Path) -> Path:
    """`make demo`'s awkward_demo, with two awkward names in the kick-off and two problems in the log.

    The kick-off (ends 20 November 17:00) is due on the 21st, so at DEMO_NOW it is the
    forecast; the March 2025 course is history outside the report's window, until one of its
    deliveries needs attention.
    """
    _append(
        examples / "examples" / "persons.csv",
        f"P032;{SCRIPT_NAME};;;script@example.nl;nl;Test BV",
        'P033;Zoë;;"& ""Co""";zoe.co@example.nl;en;Test BV',
    )
    _append(
        examples / "examples" / "enrollments.csv",
        "KO-2611,P032,enrolled,2026-10-15",
        "KO-2611,P033,enrolled,2026-10-15",
    )
    steps = [
        ("import", "examples", "--now", "2026-11-01T08:00"),
        ("run-due", "--now", SWITCH_ON, "--transport", "dir", "--out", "outbox"),
        ("run-due", "--now", DEMO_NOW, "--transport", "dir", "--out", "outbox"),
        # history (skipped, March 2025) that someone marked failed: it needs attention
        (
            "mark",
            "certificate",
            "--course",
            "VCA-2503",
            "--person",
            "P028",
            "--as",
            "failed",
            "--reason",
            "bounced: mailbox unavailable",
            "--force",  # history is settled: changing it is deliberate
        ),
    ]
    for step in steps:
        result = cli(*step, cwd=examples)
        assert result.returncode == 0, (step, result.stdout, result.stderr)
    _unknown_delivery(examples, ("proof-of-participation", "KO-2611", "P017"))
    return examples


def _unknown_delivery(awkward_demo: Path, key: tuple[str, str, str]) -> None:
    """A run that died while handing a message to the server: the log says `unknown`."""
    store = Store.open(awkward_demo / "certify.db")
    try:
        log = DeliveryLog(store, moment("2026-11-20 09:30"))
        claim = log.claim(Decided(key, moment("2026-11-21 09:00"), {}), "x <x@example.org>")
        log.mark_sending(claim)
        log.recover(lambda _key, _message_id: None)
    finally:
        store.close()


def _report(awkward_demo: Path, *options: str, now: str = DEMO_NOW) -> str:
    result = cli("report", "--out", "report.html", "--now", now, *options, cwd=awkward_demo)
    assert result.returncode == 0, result.stderr
    assert "wrote report.html:" in result.stdout
    return (awkward_demo / "report.html").read_text(encoding="utf-8")


def _section(html: str, anchor: str) -> str:
    """The HTML from the element with this id up to the next <h2> or course section."""
    start = html.index(f'id="{anchor}"')
    ends = [html.find(mark, start + 1) for mark in ("<h2", '<section class="course"')]
    end = min((e for e in ends if e != -1), default=len(html))
    return html[start:end]


def _text(html: str) -> str:
    """The visible text, tags dropped and whitespace collapsed, entities decoded."""

    class Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []

        def handle_data(self, data: str) -> None:
            self.parts.append(data)

    parser = Text()
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts))


def test_the_report_shows_courses_participants_and_what_happens(awkward_demo: Path) -> None:
    html = _report(awkward_demo)
    assert html.startswith("<!DOCTYPE html>")
    text = _text(html)
    assert "Friday 20 November 2026, 10:00 CET" in text
    assert "courses ending between 25 Sept 2026 and 4 Dec 2026" in text
    # every course of the window, latest end first; March 2025 only for its problem
    names = re.findall(r"<h3>(.*?)</h3>", html)
    assert names == [
        "Kick-off Leiderschap",
        "Webinar Privacy &amp; AVG",
        "Workshop Feedback geven",
        "BHV Herhaling",
        "VCA Basis veiligheid",
        "VCA Basis veiligheid (maart 2025)",
    ]
    vca = _text(_section(html, "course-5"))
    assert "VCA-2611 · VCA · 22 Oct – 12 Nov 2026 · Utrecht · status final" in vca
    # per action: sent, waiting (on what), cancelled
    assert "Certificate 4 sent · 3 waiting · 1 cancelled" in vca
    # the proof of participation is not linked to VCA, the exam type: no column for it
    assert "proof of participation" not in vca
    fenna = re.search(r"Fenna de Vries P004(.*?)Jan van der Berg", vca)
    assert fenna is not None
    assert fenna.group(1).strip() == (
        "2 of 4 (needs 3) 1 of 1 Waiting attendance: present 2 of 4, needs 3"
    )
    assert "Sanne Jansen P005 4 of 4 (needs 3) 0 of 1 (failed 1) Waiting pass: failed 1 of 1" in vca
    assert "Jan van der Berg P001 4 of 4 (needs 3) 1 of 1 Sent Fri 20 Nov, 10:00" in vca
    assert "Lotte van Dijk P007 4 of 4 (needs 3) 1 of 1 Cancelled" in vca
    webinar = _text(_section(html, "course-2"))
    assert (
        "Participant sending proof of participation 5 sent" in webinar and "Eva Schouten" in webinar
    )
    assert "Certificate" not in webinar
    history = _text(_section(html, "course-6"))
    assert "Certificate 1 failed · 4 skipped" in history
    assert (
        "Karel Oud P031 4 of 4 (needs 3) 1 of 1 Skipped due before the action was switched on"
        in history
    )
    overview = _text(_section(html, "courses"))
    assert "VCA Basis veiligheid VCA-2611 22 Oct – 12 Nov 2026 7 +1 cancelled" in overview
    assert "6 courses with 33 participants" in overview


def test_the_attention_list_names_each_problem_and_how_to_settle_it(awkward_demo: Path) -> None:
    html = _report(awkward_demo)
    attention = _text(_section(html, "attention"))
    assert (
        "Ilse Huisman P028 VCA Basis veiligheid (maart 2025) VCA-2503 Certificate 0 "
        "Failed marked by hand (was skipped): bounced: mailbox unavailable "
        "certify retry --state failed --action certificate --course VCA-2503 --person P028 "
        '--reason "..."'
    ) in attention
    assert (
        "Finn de Boer P017 Kick-off Leiderschap KO-2611 Participant sending proof of participation 0 Unclear "
        "run stopped while handing the message over certify mark proof-of-participation "
        '--course KO-2611 --person P017 --as sent|failed --reason "..."' in attention
    )
    # the BHV course is final in nobody's administration yet: everything due is held back
    assert (
        "BHV Herhaling Tue 17 Nov, 09:00 4 Certificate status is 'planned'; needs 'final'"
        in attention
    )
    cards = _text(html[html.index('<div class="cards">') : html.index('id="attention"')])
    assert "2 deliveries need attention" in cards
    assert "4 participants held back by a course status" in cards
    assert "13 sent in the last 12 weeks" in cards
    # the kick-off's five who reach their due moment; two of them qualify now
    assert "5 participants reach a due moment in the next 14 days; 2 meet the conditions now" in (
        cards
    )


def test_the_forecast_and_who_is_at_risk(awkward_demo: Path) -> None:
    html = _report(awkward_demo)
    forecast = _text(_section(html, "forecast"))
    # the kick-off (attendance only: proof of participation, no certificate): 5 participants
    # who are due (the sixth is unclear); 2 meet 13 % of 8 modules, 3 do not (yet)
    assert (
        "Sat 21 Nov, 09:00 Kick-off Leiderschap Participant sending proof of participation 5 2 3"
        in forecast
    )
    assert "Kick-off Leiderschap Certificate" not in forecast
    risk = _text(_section(html, "risk"))
    rows = re.findall(r"<tr>(.*?)</tr>", _section(html, "risk"), re.S)
    people = [_text(row).split(" P0")[0].strip() for row in rows[1:]]
    # still possible first, then only with a retake, then no longer possible
    assert people[:3] == [SCRIPT_NAME, AMPERSAND_NAME, "Daan Bakker"]
    assert people[3] == "Sanne Jansen"
    assert set(people[4:]) == {
        "Noor el Amrani",
        "Fenna de Vries",
        "Joëlle Hendriks",
        "Sem van den Heuvel",
    }
    assert (
        f"{AMPERSAND_NAME} P033 Kick-off Leiderschap Participant sending proof of participation, "
        "due Sat 21 Nov, 09:00 attendance: present 0 of 8, needs 1 "
        "still to come: 8 parts (Module 1, Module 2 and 6 more) Still possible"
    ) in risk
    assert (
        "Noor el Amrani P016 Kick-off Leiderschap Participant sending proof of participation, "
        "due Sat 21 Nov, 09:00 attendance: present 0 of 8, needs 1 nothing left to register "
        "No longer possible"
    ) in risk
    assert (
        "Daan Bakker P006 VCA Basis veiligheid Certificate, due since Fri 13 Nov, 09:00 "
        "pass: passed 0 of 1 no result yet: Examen Still possible"
    ) in risk
    assert "pass: passed 0 of 1, failed 1 nothing left to register Only with a retake" in risk
    assert "Fenna de Vries P004 VCA Basis veiligheid" in risk
    # who meets everything is not at risk
    assert "Finn de Boer" not in risk and "Anouk Smit" not in risk


def test_a_shorter_horizon_leaves_later_dues_out(awkward_demo: Path) -> None:
    html = _report(awkward_demo, "--days", "1", now="2026-11-20T08:00")
    forecast = _text(_section(html, "forecast"))
    assert "The next day" in forecast and "Nothing falls due in the next day" in forecast
    assert "Kick-off Leiderschap" not in forecast  # due 21 Nov 09:00, more than a day away
    assert "Noor el Amrani" not in _text(_section(html, "risk"))


def test_expiring_in_the_next_day_is_said_as_one_day(awkward_demo: Path) -> None:
    expiring = _text(_section(_report(awkward_demo, "--expiring-days", "1"), "expiring"))
    assert "Expiring in the next day" in expiring and "No certificate expires in the next day" in (
        expiring
    )
    assert "1 days" not in expiring
    expiring = _text(_section(_report(awkward_demo), "expiring"))
    assert "Expiring in the next 60 days" in expiring


def test_a_course_status_that_holds_back_what_falls_due_is_named(awkward_demo: Path) -> None:
    forecast = _text(_section(_report(awkward_demo, now="2026-11-10T08:00"), "forecast"))
    assert (
        "Tue 17 Nov, 09:00 BHV Herhaling course status is 'planned'; it must become 'final' "
        "Certificate 4 0 4"
    ) in forecast


def test_a_delivery_that_keeps_failing_is_on_the_attention_list(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    make_config(tmp_path)
    config = load(tmp_path / "actions.yaml")
    db = tmp_path / "certify.db"
    import_into(db, export())
    key = ("certificate", "C1", "P1")
    store = Store.open(db)
    try:
        for minute in ("10:00", "10:10", "10:30"):
            log = DeliveryLog(store, moment(f"2026-11-06 {minute}"))
            claim = log.claim(Decided(key, moment("2026-11-05 17:00"), {}), "x <x@example.org>")
            assert log.temporary_failure(claim, "421 mailbox busy, try later", 421) == "pending"
            log.flush()
    finally:
        store.close()
    with Store.open_readonly(db) as store:
        report = build_report(store, config, moment("2026-11-06 11:00"))
    [problem] = report.problems
    assert (problem.person, problem.state, problem.attempts) == ("Bram van der Berg", "retrying", 3)
    assert problem.error == "421 mailbox busy, try later"
    assert problem.settle == "certify explain --course C1 --person P1"
    [course] = report.courses
    cell = next(row for row in course.participants if row.person_id == "P1").cells[0]
    assert (cell.label, cell.detail) == ("Retrying", "421 mailbox busy, try later")


def test_the_chart_counts_sent_deliveries_per_week(awkward_demo: Path) -> None:
    html = _report(awkward_demo)
    svg = html[html.index("<svg") : html.index("</svg>")]
    bars = re.findall(r'<text class="week"[^>]*>(W\d+)</text>', svg)
    assert bars == [f"W{week}" for week in range(36, 48)]  # 12 ISO weeks, this one last
    counts = [int(c) for c in re.findall(r'<text class="count"[^>]*>(\d+)</text>', svg)]
    assert counts == [0] * 11 + [13]
    assert len(re.findall(r'<rect class="bar"', svg)) == 1
    assert "Deliveries sent per week, 31 Aug to Fri 20 Nov: 13 in total" in svg


def test_names_are_escaped_and_nothing_is_fetched(awkward_demo: Path) -> None:
    html = _report(awkward_demo)
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Zoë &amp; &#34;Co&#34;" in html
    assert "http://" not in html and "https://" not in html and "src=" not in html
    # every link stays in the page; no images, fonts, frames or style sheets from elsewhere
    assert all(link.startswith("#") for link in re.findall(r'href="([^"]*)"', html))
    for tag in ("<img", "<link", "<iframe", "<object", "<embed", "@import", "url("):
        assert tag not in html
    assert "@media print" in html


def test_the_report_only_reads_the_database(awkward_demo: Path) -> None:
    before = file_digest(awkward_demo / "certify.db")
    _report(awkward_demo)
    assert file_digest(awkward_demo / "certify.db") == before


def test_report_mistakes_are_one_line_with_a_hint(awkward_demo: Path) -> None:
    missing = cli("report", "--out", "no/such/folder/report.html", cwd=awkward_demo)
    assert missing.returncode == 1 and missing.stderr == (
        "error: no/such/folder/report.html: the folder no/such/folder does not exist\n"
        "hint: create it first (mkdir -p no/such/folder), or give --out a file in a folder "
        "that exists\n"
    )
    folder = cli("report", "--out", "outbox", cwd=awkward_demo)
    assert folder.returncode == 1 and "error: outbox: is a folder" in folder.stderr
    assert "hint: give --out a file name, such as outbox/report.html" in folder.stderr
    in_a_file = cli("report", "--out", "certify.db/report.html", cwd=awkward_demo)
    assert in_a_file.returncode == 1
    assert "certify.db/report.html: certify.db is a file, not a folder" in in_a_file.stderr
    assert not list(awkward_demo.glob(".*.tmp")) and not list((awkward_demo / "outbox").glob(".*"))
    nodb = cli("report", "--out", "r.html", "--db", "absent.db", cwd=awkward_demo)
    assert nodb.returncode == 1 and "absent.db: no such database" in nodb.stderr
    assert cli("report", "--out", "r.html", "--days", "0", cwd=awkward_demo).returncode == 2
    assert cli("report", cwd=awkward_demo).returncode == 2  # --out is required
    bad_now = cli("report", "--out", "r.html", "--now", "yesterday", cwd=awkward_demo)
    assert bad_now.returncode == 2 and "--now" in bad_now.stderr
    (awkward_demo / "actions.yaml").write_text("version: 1\nactions: [\n")
    broken = cli("report", "--out", "r.html", cwd=awkward_demo)
    assert broken.returncode == 1 and "actions.yaml:" in broken.stderr
    assert not (awkward_demo / "r.html").exists()


def test_one_part_still_to_come_keeps_the_requirement_possible(tmp_path: Path) -> None:
    """Present 2 of 4, needs 3, the exam still to come: possible; 1 of 4 with one to come: not."""
    export = write_export(
        tmp_path / "export",
        persons="""
            person_id,first_name,last_name,email
            P1,Bram,Berg,bram@example.org
            P2,Zoë,Öztürk,zoe@example.org
            P3,Iris,Koç,iris@example.org
        """,
        enrollments="""
            course_id,person_id
            C1,P1
            C1,P2
            C1,P3
        """,
        parts="""
            part_id,course_id,name,start,end,attendance_required,pass_required
            C1-1,C1,Day 1,2026-11-02 09:00,2026-11-02 17:00,yes,no
            C1-2,C1,Day 2,2026-11-03 09:00,2026-11-03 17:00,yes,no
            C1-3,C1,Day 3,2026-11-04 09:00,2026-11-04 17:00,yes,no
            C1-4,C1,Exam,2026-11-05 09:00,2026-11-05 17:00,yes,yes
        """,
        attendance="""
            part_id,person_id,present,registered_at
            C1-1,P1,yes,2026-11-02 17:00
            C1-2,P1,yes,2026-11-03 17:00
            C1-3,P1,yes,2026-11-04 17:00
            C1-1,P2,yes,2026-11-02 17:00
            C1-2,P2,no,2026-11-03 17:00
            C1-3,P2,yes,2026-11-04 17:00
            C1-1,P3,no,2026-11-02 17:00
            C1-2,P3,no,2026-11-03 17:00
            C1-3,P3,yes,2026-11-04 17:00
        """,
        results="""
            part_id,person_id,passed,registered_at
        """,
    )
    make_config(tmp_path, offset=1, at="09:00")
    config = load(tmp_path / "actions.yaml")
    db = tmp_path / "certify.db"
    import_into(db, export, now="2026-11-04 20:00")
    with Store.open_readonly(db) as store:
        report = build_report(store, config, moment("2026-11-04 20:00"), days=14)
    risks = {risk.person: risk for risk in report.risks}
    assert set(risks) == {"Bram Berg", "Zoë Öztürk", "Iris Koç"}
    zoe = risks["Zoë Öztürk"]
    assert zoe.shortfall == [
        "attendance: present 2 of 4, needs 3",
        "pass: passed 0 of 1",
    ]
    assert zoe.still_open == "still to come: Exam (Thu 5 Nov); no result yet: Exam"
    assert (zoe.verdict, zoe.due) == ("possible", "due Fri 6 Nov, 09:00")
    bram = risks["Bram Berg"]
    assert bram.shortfall == ["pass: passed 0 of 1"] and bram.verdict == "possible"
    iris = risks["Iris Koç"]
    assert iris.shortfall[0] == "attendance: present 1 of 4, needs 3"
    assert (iris.verdict, iris.verdict_text) == ("impossible", "No longer possible")
    assert [(f.due, f.participants, f.ready) for f in report.forecast] == [
        ("Fri 6 Nov, 09:00", 3, 0)
    ]
    # once the exam has passed without a registration, it is no longer "to come"
    with Store.open_readonly(db) as store:
        later = build_report(store, config, moment("2026-11-05 18:00"), days=14)
    zoe = next(risk for risk in later.risks if risk.person == "Zoë Öztürk")
    assert zoe.still_open.startswith("attendance not registered yet: Exam (Thu 5 Nov)")
    html = render_report(report)
    assert "still to come: Exam (Thu 5 Nov)" in html and "Still possible" in html


@pytest.mark.parametrize(
    ("peak", "top", "lines"),
    [
        (0, 1, [1]),
        (3, 3, [1, 2, 3]),
        (6, 6, [2, 4, 6]),
        (28, 30, [10, 20, 30]),
        (1234, 1500, [500, 1000, 1500]),
    ],
)
def test_the_chart_axis_has_round_gridlines(peak: int, top: int, lines: list[int]) -> None:
    assert axis(peak) == (top, lines)


def _browser() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
@pytest.mark.skipif(
    _browser() is None,
    reason="no Chromium on this machine (.ci/run installs Debian's `chromium`); "
    "the HTML itself is checked by the other tests",
)
def test_a_real_browser_shows_names_numbers_and_the_chart(
    awkward_demo: Path, tmp_path: Path
) -> None:
    _report(awkward_demo)
    page = (awkward_demo / "report.html").resolve().as_uri()
    browser = [
        str(_browser()),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run(
        [*browser, "--dump-dom", page], capture_output=True, text=True, timeout=120
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    text = _text(dom.stdout)
    for shown in (
        "Fenna de Vries",
        "Kick-off Leiderschap",
        "Webinar Privacy & AVG",
        SCRIPT_NAME,  # shown as text: the browser never saw a script element
        AMPERSAND_NAME,
        "13 sent in the last 12 weeks",
        "2 deliveries need attention",
        "Certificate 4 sent · 3 waiting · 1 cancelled",
        "No longer possible",
    ):
        assert shown in text, shown
    assert "<svg" in dom.stdout and 'class="bar"' in dom.stdout
    assert "<script" not in dom.stdout.lower()
    screenshot = tmp_path / "report.png"
    shot = subprocess.run(
        [
            *browser,
            "--hide-scrollbars",
            f"--screenshot={screenshot}",
            "--window-size=1280,2000",
            page,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    data = screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000


def test_a_folder_the_report_cannot_write_in_is_named_not_the_temporary_file(
    awkward_demo: Path,
) -> None:
    folder = awkward_demo / "locked"
    folder.mkdir(mode=0o555)
    if os.geteuid() == 0:  # root writes in any folder, but in /sys nobody creates files
        folder = Path("/sys")
        if not folder.is_dir():
            pytest.skip("no folder root cannot write in")
    target = folder / "report.html"
    result = cli("report", "--out", str(target), "--now", DEMO_NOW, cwd=awkward_demo)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {target}: cannot be written: "), result.stderr
    assert ".tmp" not in result.stderr
    assert f"hint: certify must be able to create files in {folder}: check" in result.stderr
    assert not target.exists()


def test_a_report_of_an_earlier_moment_charts_what_was_sent_by_then(awkward_demo: Path) -> None:
    # the kick-off is sent on the 21st; a report of the 20th does not count it yet
    sent = cli("run-due", "--now", "2026-11-21T10:00", "--transport", "dir", "--out", "outbox",
               cwd=awkward_demo)  # fmt: skip
    assert sent.returncode in (0, 3) and "sent: " in sent.stdout
    html = _report(awkward_demo, now=DEMO_NOW)
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert "Deliveries sent per week, 31 Aug to Fri 20 Nov: 13 in total" in svg


def test_nobody_is_at_risk_in_a_course_that_has_not_started(tmp_path: Path) -> None:
    """Before the first day nothing is registered, and nothing can be: that is no risk."""
    export = write_export(
        tmp_path / "export",
        attendance="part_id,person_id,present,registered_at\n",
        results="part_id,person_id,passed,registered_at\n",
    )
    make_config(tmp_path, offset=1, at="09:00")
    config = load(tmp_path / "actions.yaml")
    db = tmp_path / "certify.db"
    import_into(db, export, now="2026-10-20 08:00")
    with Store.open_readonly(db) as store:
        before = build_report(store, config, moment("2026-10-30 08:00"), days=14)
        started = build_report(store, config, moment("2026-11-02 08:00"), days=14)
    # the course starts on 1 November and its certificate is due on the 6th, in both reports
    assert [(f.due, f.participants) for f in before.forecast] == [("Fri 6 Nov, 09:00", 2)]
    assert before.risks == [] and before.totals["at_risk"] == 0
    assert "no result yet: Exam" in render_report(started)
    assert {risk.person for risk in started.risks} == {"Bram van der Berg", "Zoë Öztürk"}
    assert started.totals["at_risk"] == 2
