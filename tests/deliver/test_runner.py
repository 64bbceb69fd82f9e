import json
import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certify.config import Config
from certify.deliver.outbox import DirTransport, safe_file_name
from certify.deliver.results import RunReport
from certify.deliver.runner import Runner
from certify.render.templates import Templates
from certify.store.database import Store
from tests.helpers import (
    DEMO_NOW,
    SWITCH_ON,
    cli,
    file_digest,
    import_into,
    make_config,
    moment,
    proof_action,
    states,
    write_export,
)

# C1 ends 2026-11-05 17:00 (Amsterdam). P1: 3 of 4 present, passed -> meets 75 %.
# P2: 1 of 4 present, passed -> does not.


def run(
    db: Path, config: Config, now: str, out: Path, dry: bool = False, limit: int | None = None
) -> RunReport:
    store = Store.open_readonly(db) if dry else Store.open(db)
    try:
        runner = Runner(store, config, Templates(config), moment(now))
        return runner.run(config.actions, None if dry else DirTransport(out), limit=limit)
    finally:
        store.close()


def sent(report: RunReport) -> set[tuple[str, str, str]]:
    return {(d.action, d.course, d.person) for d in report.results if d.state == "sent"}


@pytest.fixture
def db_and_outbox(tmp_path: Path, export: Callable[..., Path]) -> tuple[Path, Path]:
    db = tmp_path / "c.db"
    import_into(db, export())
    return db, tmp_path / "out"


def test_sends_exactly_those_who_meet_the_requirements(
    tmp_path: Path, db_and_outbox: tuple[Path, Path]
) -> None:
    db, out = db_and_outbox
    config = make_config(tmp_path)
    report = run(db, config, "2026-11-05 17:00", out)
    assert sent(report) == {("certificate", "C1", "P1")}
    assert (out / safe_file_name("certificate", "C1", "P1")).is_file()
    assert report.waiting == 1
    assert report.waiting_on == {"certificate: attendance: present 1 of 4, needs 3": 1}


def test_not_before_the_due_moment(tmp_path: Path, db_and_outbox: tuple[Path, Path]) -> None:
    db, out = db_and_outbox
    config = make_config(tmp_path, offset=1, at="09:00")
    assert sent(run(db, config, "2026-11-06 08:59", out)) == set()
    assert sent(run(db, config, "2026-11-06 09:00", out)) == {("certificate", "C1", "P1")}


def test_a_second_run_sends_nothing_again(tmp_path: Path, db_and_outbox: tuple[Path, Path]) -> None:
    db, out = db_and_outbox
    config = make_config(tmp_path)
    assert len(sent(run(db, config, "2026-11-06 09:00", out))) == 1
    assert sent(run(db, config, "2026-11-06 09:00", out)) == set()
    assert sent(run(db, config, "2026-11-07 09:00", out)) == set()


def test_late_results_are_picked_up_by_a_later_run(
    tmp_path: Path, db_and_outbox: tuple[Path, Path], export: Callable[..., Path]
) -> None:
    db, out = db_and_outbox
    config = make_config(tmp_path)
    no_results = export("no-results", results="part_id,person_id,passed\n")
    import_into(db, no_results, snapshot=True, max_remove=100)  # the results withdrawn
    report = run(db, config, "2026-11-06 09:00", out)
    assert sent(report) == set()
    assert "certificate: pass: passed 0 of 1, no result yet" in report.waiting_on
    import_into(
        db, export("late", results="part_id,person_id,passed\nC1-4,P1,ja\n"), now="2026-11-12 10:00"
    )
    assert sent(run(db, config, "2026-11-12 10:15", out)) == {("certificate", "C1", "P1")}


def test_failed_exam_waits_and_says_so(
    tmp_path: Path, db_and_outbox: tuple[Path, Path], export: Callable[..., Path]
) -> None:
    db, out = db_and_outbox
    import_into(db, export("f", results="part_id,person_id,passed\nC1-4,P1,nee\n"))
    report = run(db, make_config(tmp_path), "2026-11-06 09:00", out)
    assert report.waiting_on.get("certificate: pass: failed 1 of 1") == 1


def test_status_change_releases_waiting_deliveries(
    tmp_path: Path, db_and_outbox: tuple[Path, Path], export: Callable[..., Path]
) -> None:
    db, out = db_and_outbox
    planned = (
        "course_id,name,course_type,status,end\nC1,Display training,FOUR,planned,2026-11-05 17:00\n"
    )
    import_into(db, export("p", courses=planned))
    config = make_config(tmp_path)
    report = run(db, config, "2026-11-06 09:00", out)
    assert sent(report) == set()
    assert "certificate: course status 'planned', needs final" in report.waiting_on
    import_into(db, export("f", courses=planned.replace("planned", "final")))
    assert sent(run(db, config, "2026-11-06 09:15", out)) == {("certificate", "C1", "P1")}


def test_cancelled_or_removed_enrollments_get_nothing(
    tmp_path: Path, db_and_outbox: tuple[Path, Path], export: Callable[..., Path]
) -> None:
    db, out = db_and_outbox
    only_p2 = export("s", enrollments="course_id,person_id\nC1,P2\n")
    import_into(db, only_p2 / "enrollments.csv", snapshot=True)  # P1 removed -> cancelled
    config = make_config(tmp_path, attendance="no", passing="no")
    assert sent(run(db, config, "2026-11-06 09:00", out)) == {("certificate", "C1", "P2")}
    import_into(db, export("c", enrollments="course_id,person_id,status\nC1,P2,cancelled\n"))
    assert sent(run(db, config, "2026-11-07 09:00", out)) == set()


def test_requirements_met_anchor_can_fall_before_the_course_ends(
    tmp_path: Path, db_and_outbox: tuple[Path, Path]
) -> None:
    db, out = db_and_outbox
    config = make_config(
        tmp_path, after="requirements_met", offset=2, unit="hours", status="final", passing="no"
    )
    # P1's third present day was registered 2026-11-04 17:00: due at 19:00, before the end (5 Nov)
    assert sent(run(db, config, "2026-11-04 18:59", out)) == set()
    assert sent(run(db, config, "2026-11-04 19:00", out)) == {("certificate", "C1", "P1")}


def test_participant_added_anchor(tmp_path: Path, db_and_outbox: tuple[Path, Path]) -> None:
    db, out = db_and_outbox
    config = make_config(
        tmp_path,
        after="participant_added",
        offset=1,
        unit="weeks",
        status="final",
        attendance="no",
        passing="no",
    )
    # enrolled 2026-10-01 (local midnight): due 2026-10-08 00:00
    assert sent(run(db, config, "2026-10-07 23:59", out)) == set()
    assert len(sent(run(db, config, "2026-10-08 00:00", out))) == 2


def test_not_met_reaches_those_who_missed_it(
    tmp_path: Path, db_and_outbox: tuple[Path, Path]
) -> None:
    db, out = db_and_outbox
    config = make_config(tmp_path, attendance="not_met", passing="no")
    assert sent(run(db, config, "2026-11-06 09:00", out)) == {("certificate", "C1", "P2")}


def test_all_parts_basis(
    tmp_path: Path, db_and_outbox: tuple[Path, Path], export: Callable[..., Path]
) -> None:
    db, out = db_and_outbox
    parts = """
        part_id,course_id,name,attendance_required,pass_required
        C1-1,C1,Day 1,yes,no
        C1-2,C1,Day 2,no,no
        C1-3,C1,Day 3,no,no
        C1-4,C1,Exam,no,yes
    """
    import_into(db, export("a", parts=parts))
    required = make_config(tmp_path, passing="no")
    # required_parts: only C1-1 counts, and both were present there
    dry = run(db, required, "2026-11-06 09:00", out, dry=True)
    assert {d.person for d in dry.results} == {"P1", "P2"}
    all_parts = make_config(tmp_path, passing="no", top="attendance_basis: all_parts\n")
    dry = run(db, all_parts, "2026-11-06 09:00", out, dry=True)
    assert {d.person for d in dry.results} == {"P1"}  # 3 of 4 parts = 75 %; P2 1 of 4


def test_no_requirements_at_all_is_always_met(tmp_path: Path, export: Callable[..., Path]) -> None:
    db = tmp_path / "c.db"
    import_into(
        db,
        export(
            courses="course_id,name,status,end\nC1,Webinar,final,2026-11-05 17:00\nC2,No parts,final,2026-11-05\n",
            parts="part_id,course_id,name,attendance_required,pass_required\nC1-1,C1,Live,no,no\n",
            enrollments="course_id,person_id\nC1,P1\nC1,P2\nC2,P1\n",
            attendance="part_id,person_id,present\nC1-1,P1,no\n",
            results="part_id,person_id,passed\n",
        ),
    )
    report = run(db, make_config(tmp_path), "2026-11-06 09:00", tmp_path / "o")
    assert sent(report) == {
        ("certificate", "C1", "P1"),
        ("certificate", "C1", "P2"),
        ("certificate", "C2", "P1"),
    }


def test_daylight_saving_keeps_the_wall_clock(tmp_path: Path, export: Callable[..., Path]) -> None:
    db = tmp_path / "c.db"
    courses = (
        "course_id,name,course_type,status,end\nC1,Display training,FOUR,final,2026-03-28 17:00\n"
    )
    import_into(db, export(courses=courses))
    config = make_config(tmp_path, offset=1, unit="days")
    # 1 day after Sat 28 March 17:00 CET is Sun 29 March 17:00 CEST (23 hours later)
    assert sent(run(db, config, "2026-03-29 16:59", tmp_path / "o")) == set()
    assert len(sent(run(db, config, "2026-03-29 17:00", tmp_path / "o"))) == 1


def test_without_since_history_is_skipped_not_mailed(
    tmp_path: Path, db_and_outbox: tuple[Path, Path]
) -> None:
    db, out = db_and_outbox
    config = make_config(tmp_path, since=None)
    # the action is switched on long after the course: due 5 Nov, first run 1 Dec
    report = run(db, config, "2026-12-01 09:00", out)
    assert sent(report) == set() and report.skipped == 2  # both participants, met or not
    assert set(states(db, "course_id", "person_id").values()) == {"skipped"}
    assert not out.exists() or not any(out.iterdir())
    # and a later run does not mail them either
    assert sent(run(db, config, "2026-12-02 09:00", out)) == set()


def test_without_since_new_courses_after_switch_on_are_sent(
    tmp_path: Path, db_and_outbox: tuple[Path, Path]
) -> None:
    db, out = db_and_outbox
    config = make_config(tmp_path, since=None)
    report = run(db, config, "2026-11-01 09:00", out)  # switched on before the course ends
    assert report.skipped == 0
    assert sent(run(db, config, "2026-11-06 09:00", out)) == {("certificate", "C1", "P1")}


def test_dry_run_does_not_fix_since_and_writes_nothing(
    tmp_path: Path, db_and_outbox: tuple[Path, Path]
) -> None:
    db, out = db_and_outbox
    config = make_config(tmp_path, since=None)
    before = file_digest(db)
    report = run(db, config, "2026-12-01 09:00", out, dry=True)
    assert report.skipped == 2 and report.sent == 0
    assert file_digest(db) == before and not out.exists()
    assert not Path(f"{db}-wal").exists() or Path(f"{db}-wal").stat().st_size == 0
    # switched on for real earlier: the course is then covered
    assert sent(run(db, config, "2026-11-01 09:00", out)) == set()
    assert len(sent(run(db, config, "2026-12-01 09:00", out))) == 1


def test_explicit_since_takes_in_history_on_purpose(
    tmp_path: Path, db_and_outbox: tuple[Path, Path]
) -> None:
    db, out = db_and_outbox
    config = make_config(tmp_path, since="2026-11-01")
    assert len(sent(run(db, config, "2026-12-01 09:00", out))) == 1
    later = make_config(tmp_path, since="2026-11-06")
    assert run(db, later, "2026-12-01 09:00", out).skipped == 1  # P2, never sent, now skipped


def test_expire_after_records_expired(tmp_path: Path, db_and_outbox: tuple[Path, Path]) -> None:
    db, out = db_and_outbox
    config = make_config(tmp_path, expire="3 days")
    report = run(db, config, "2026-11-08 17:01", out)  # due 5 Nov 17:00; 3 days and a minute late
    assert sent(report) == set() and report.expired == 1
    assert states(db, "course_id", "person_id")[("C1", "P1")] == "expired"
    assert sent(run(db, config, "2026-11-08 17:02", out)) == set()


def test_limit_sends_at_most_n(tmp_path: Path, db_and_outbox: tuple[Path, Path]) -> None:
    db, out = db_and_outbox
    config = make_config(tmp_path, attendance="no", passing="no")
    first = run(db, config, "2026-11-06 09:00", out, limit=1)
    assert len(sent(first)) == 1
    assert not first.judged_all  # it stopped judging once one was due: the other waits
    second = run(db, config, "2026-11-06 09:00", out, limit=1)
    assert len(sent(second)) == 1 and second.judged_all
    assert len(sent(run(db, config, "2026-11-06 09:00", out, limit=1))) == 0
    dry = run(db, config, "2026-11-06 09:00", out, dry=True)
    assert dry.judged_all and dry.sent == 0


def test_a_limit_stops_judging_a_long_backlog_and_later_runs_take_the_rest(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    people = "".join(f"P{i},p{i}@example.org\n" for i in range(1, 11))
    db = tmp_path / "c.db"
    import_into(
        db,
        export(
            persons="person_id,email\n" + people,
            enrollments="course_id,person_id\n" + "".join(f"C1,P{i}\n" for i in range(1, 11)),
            attendance="part_id,person_id,present\n",
            results="part_id,person_id,passed\n",
        ),
    )
    config = make_config(tmp_path, attendance="no", passing="no")
    out = tmp_path / "out"
    batches = [sent(run(db, config, "2026-11-06 09:00", out, limit=4)) for _ in range(4)]
    assert [len(batch) for batch in batches] == [4, 4, 2, 0]
    assert len(set().union(*batches)) == 10  # each sent once, none lost


def test_a_killed_run_is_settled_without_sending_twice(
    tmp_path: Path, db_and_outbox: tuple[Path, Path]
) -> None:
    db, out = db_and_outbox
    config = make_config(tmp_path, attendance="no", passing="no")
    run(db, config, "2026-11-06 09:00", out)
    # simulate: P1 killed after the claim (nothing written), P2 killed after writing its file
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE deliveries SET state = 'claimed' WHERE person_id = 'P1'")
        conn.execute("UPDATE deliveries SET state = 'sending' WHERE person_id = 'P2'")
    (out / safe_file_name("certificate", "C1", "P1")).unlink()
    p2_file = out / safe_file_name("certificate", "C1", "P2")
    written = p2_file.stat().st_mtime_ns
    report = run(db, config, "2026-11-06 09:15", out)
    assert sent(report) == {("certificate", "C1", "P1")}
    assert p2_file.stat().st_mtime_ns == written  # not written again
    assert states(db, "course_id", "person_id") == {("C1", "P1"): "sent", ("C1", "P2"): "sent"}


def test_a_claim_whose_file_was_written_is_sent_not_written_again(
    tmp_path: Path, db_and_outbox: tuple[Path, Path]
) -> None:
    """The outbox tells: a run killed after renaming a file but before recording it."""
    db, out = db_and_outbox
    config = make_config(tmp_path, attendance="no", passing="no")
    run(db, config, "2026-11-06 09:00", out)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE deliveries SET state = 'claimed', sent_at = NULL")
    written = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    report = run(db, config, "2026-11-06 09:15", out)
    assert sent(report) == set()
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == written
    assert set(states(db, "course_id", "person_id").values()) == {"sent"}


def test_the_record_keeps_why_it_was_sent(tmp_path: Path, db_and_outbox: tuple[Path, Path]) -> None:
    import json

    db, out = db_and_outbox
    run(db, make_config(tmp_path), "2026-11-06 09:00", out)
    with sqlite3.connect(db) as conn:
        figures, import_id, message_id, number = conn.execute(
            "SELECT figures, import_id, message_id, certificate_number FROM deliveries"
        ).fetchone()
    data = json.loads(figures)
    assert data["attendance"] == {
        "present": 3,
        "required_parts": 4,
        "percentage": 75,
        "threshold": 75,
        "needed": 3,
        "met": True,
    }
    assert data["pass"] == {"passed": 1, "required_parts": 1, "met": True}
    assert import_id == 1 and message_id.startswith("<certify.") and number.startswith("2026-")
    eml = (out / safe_file_name("certificate", "C1", "P1")).read_bytes()
    assert message_id.encode() in eml and number.encode() in eml


# -- properties -----------------------------------------------------------------------------------

person_ids = [f"P{i}" for i in range(1, 7)]
situations = st.fixed_dictionaries(
    {
        pid: st.tuples(
            st.lists(st.booleans(), min_size=4, max_size=4), st.sampled_from(["ja", "nee", ""])
        )
        for pid in person_ids
    }
)


def _world(tmp_path: Path, situation: dict[str, tuple[list[bool], str]], name: str) -> Path:
    directory = write_export(
        tmp_path / name,
        persons="person_id,email\n" + "".join(f"{p},{p.lower()}@example.org\n" for p in person_ids),
        enrollments="course_id,person_id\n" + "".join(f"C1,{p}\n" for p in person_ids),
        attendance="part_id,person_id,present,registered_at\n"
        + "".join(
            f"C1-{n + 1},{p},{'ja' if present[n] else 'nee'},2026-11-0{n + 2} 17:00\n"
            for p, (present, _) in situation.items()
            for n in range(4)
        ),
        results="part_id,person_id,passed\n"
        + "".join(f"C1-4,{p},{result}\n" for p, (_, result) in situation.items()),
    )
    db = tmp_path / f"{name}.db"
    import_into(db, directory)
    return db


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(situation=situations, first=st.integers(0, 96), second=st.integers(0, 96))
def test_runs_at_t1_then_t2_send_what_one_run_at_t2_sends(
    tmp_path_factory: pytest.TempPathFactory,
    situation: dict[str, tuple[list[bool], str]],
    first: int,
    second: int,
) -> None:
    tmp_path = tmp_path_factory.mktemp("prop")
    config = make_config(tmp_path, after="requirements_met", offset=0, unit="hours", status="final")
    t1, t2 = sorted((first, second))
    base = moment("2026-11-03 00:00")

    def when(hours: int) -> str:
        return (base + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")

    two_step = _world(tmp_path, situation, "a")
    one_step = _world(tmp_path, situation, "b")
    first_run = sent(run(two_step, config, when(t1), tmp_path / "oa"))
    second_run = sent(run(two_step, config, when(t2), tmp_path / "oa"))
    assert not (first_run & second_run)  # nobody twice
    assert first_run | second_run == sent(run(one_step, config, when(t2), tmp_path / "ob"))
    # and a repeat at the same moment sends nothing
    assert sent(run(two_step, config, when(t2), tmp_path / "oa")) == set()


def test_a_delivery_sent_for_one_action_is_not_resent_while_another_waits(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = tmp_path / "c.db"
    import_into(db, export(results="part_id,person_id,passed\nC1-4,P1,nee\n"))
    proof = proof_action(
        template="certificate", conditions="{course_status: final, attendance: yes, pass: no}"
    )
    config = make_config(tmp_path, extra_actions=proof)
    first = run(db, config, "2026-11-06 09:00", tmp_path / "o")
    assert sent(first) == {("proof", "C1", "P1")}  # the certificate waits on the failed exam
    assert sent(run(db, config, "2026-11-06 09:15", tmp_path / "o")) == set()
    assert sent(run(db, config, "2026-11-07 09:15", tmp_path / "o")) == set()


def test_templates_get_when_the_requirements_were_met(
    tmp_path: Path, db_and_outbox: tuple[Path, Path]
) -> None:
    db, out = db_and_outbox
    config = make_config(tmp_path)
    (tmp_path / "templates" / "certificate.txt.j2").write_text(
        "---\nsubject: x\n---\nmet {{ requirements.met_at.strftime('%Y-%m-%d %H:%M') }}\n"
    )
    run(db, config, "2026-11-06 09:00", out)
    eml = (out / safe_file_name("certificate", "C1", "P1")).read_text()
    # attendance met at the 3rd present day (4 Nov 17:00), the exam passed 5 Nov 18:00
    assert "met 2026-11-05 18:00" in eml


def test_a_dry_run_takes_an_action_not_switched_on_as_switched_on_now(examples: Path) -> None:
    assert cli("import", "examples", "--now", "2026-11-01T08:00", cwd=examples).returncode == 0
    # no real run yet: a real run today would skip every course of November 2026
    dry = cli("run-due", "--dry-run", "--now", DEMO_NOW, cwd=examples)
    assert dry.returncode == 0, dry.stderr
    notes = [line for line in dry.stdout.splitlines() if "not switched on yet" in line]
    assert len(notes) == 1
    assert notes[0].startswith(
        "not switched on yet: Certificate, Participant sending proof of participation; "
    )
    assert "would send 0," in dry.stdout
    as_json = cli("run-due", "--dry-run", "--json", "--now", DEMO_NOW, cwd=examples)
    switched = json.loads(as_json.stdout)["switched_on"]
    assert set(switched) == {"certificate", "proof-of-participation"}
    # once a real run switched them on, a dry run judges from that moment
    real = cli("run-due", "--now", SWITCH_ON, "--transport", "dir", "--out", "out", cwd=examples)
    assert real.returncode == 0, real.stderr
    again = cli("run-due", "--dry-run", "--now", DEMO_NOW, cwd=examples)
    assert "not switched on yet" not in again.stdout
    assert "would send 0," not in again.stdout


def test_the_switch_on_of_a_dry_run_is_the_moment_given(tmp_path: Path) -> None:
    config = make_config(tmp_path, since=None, attendance="no", passing="no")
    write_export(tmp_path / "exports")
    db = tmp_path / "certify.db"
    import_into(db, tmp_path / "exports")
    with Store.open(db) as store:
        early = Runner(
            store, config, None, moment("2026-11-30 10:00"), switch_on=moment("2026-11-01 00:00")
        )
        late = Runner(
            store, config, None, moment("2026-11-30 10:00"), switch_on=moment("2026-12-31 00:00")
        )
        sent_early = early.run(config.actions, None, render=False)
        sent_late = late.run(config.actions, None, render=False)
    assert sent_early.switched_on == {"certificate": moment("2026-11-01 00:00")}
    assert sent_early.sent > 0
    assert sent_late.sent == 0 and sent_late.skipped == sent_early.sent
