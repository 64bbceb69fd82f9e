import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from certify.errors import ImportFailed, UsageError
from certify.ingest.importer import BATCH
from certify.store.database import Store
from tests.helpers import file_digest, import_into, rows


def test_imports_a_folder_and_a_second_import_changes_nothing(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = tmp_path / "c.db"
    first = import_into(db, export())
    assert first.counts["persons"].inserted == 2
    assert first.counts["attendance"].inserted == 6
    second = import_into(db, export(), now="2026-11-02 08:00")
    assert all(c.inserted == 0 and c.updated == 0 for c in second.counts.values())
    assert second.counts["attendance"].unchanged == 6
    assert rows(db, "SELECT full_name FROM persons ORDER BY person_id") == [
        ("Bram van der Berg",),
        ("Zoë Öztürk",),
    ]


def test_local_times_are_stored_in_utc_and_end_dates_as_end_of_day(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = tmp_path / "c.db"
    courses = """
        course_id,name,status,start,end
        C1,Display training,final,2026-11-01,05-11-2026
    """
    import_into(db, export(courses=courses))
    assert rows(db, 'SELECT start, "end", end_is_date FROM courses') == [
        ("2026-10-31T23:00:00Z", "2026-11-05T23:00:00Z", 1)
    ]
    assert rows(
        db, "SELECT registered_at FROM attendance WHERE part_id='C1-1' AND person_id='P1'"
    ) == [("2026-11-02T16:00:00Z",)]


def test_registration_time_is_the_first_import_that_saw_the_value(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = tmp_path / "c.db"
    no_times = """
        part_id,person_id,present
        C1-1,P1,yes
        C1-2,P1,no
    """
    import_into(db, export(attendance=no_times), now="2026-11-02 08:00")
    import_into(db, export(attendance=no_times), now="2026-11-03 08:00")
    changed = """
        part_id,person_id,present
        C1-1,P1,yes
        C1-2,P1,yes
    """
    report = import_into(db, export(attendance=changed), now="2026-11-04 08:00")
    assert report.counts["attendance"].updated == 1
    assert rows(db, "SELECT part_id, registered_at FROM attendance ORDER BY part_id") == [
        ("C1-1", "2026-11-02T07:00:00Z"),  # unchanged value keeps its first moment
        ("C1-2", "2026-11-04T07:00:00Z"),  # no -> yes: registered now
    ]


def test_extra_columns_reach_the_store(tmp_path: Path, export: Callable[..., Path]) -> None:
    db = tmp_path / "c.db"
    persons = """
        person_id,email,first_name,last_name,Employer
        P1,bram@example.org,Bram,Berg,Gemeente Utrecht
        P2,zoe@example.org,Zoë,Öztürk,
    """
    import_into(db, export(persons=persons))
    extra = rows(db, "SELECT extra FROM persons WHERE person_id = 'P1'")[0][0]
    assert json.loads(str(extra)) == {"employer": "Gemeente Utrecht"}


def test_snapshot_removes_missing_rows_and_cancels_missing_enrollments(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = tmp_path / "c.db"
    import_into(db, export())
    smaller = export(
        "smaller",
        enrollments="course_id,person_id\nC1,P1\n",
        attendance="part_id,person_id,present\nC1-1,P1,yes\n",
    )
    report = import_into(
        db, smaller / "enrollments.csv", smaller / "attendance.csv", snapshot=True, max_remove=84
    )
    assert report.counts["enrollments"].removed == 1
    assert report.counts["attendance"].removed == 5
    assert rows(db, "SELECT person_id, status FROM enrollments ORDER BY person_id") == [
        ("P1", "enrolled"),
        ("P2", "cancelled"),
    ]
    # the summary says what happened to them: an enrollment is kept, cancelled
    assert report.counts["enrollments"].summary("enrollments") == (
        "0 inserted, 0 updated, 1 unchanged, 1 cancelled"
    )
    assert report.counts["attendance"].summary("attendance") == (
        "0 inserted, 0 updated, 1 unchanged, 5 removed"
    )


def test_snapshot_may_not_orphan_rows(tmp_path: Path, export: Callable[..., Path]) -> None:
    db = tmp_path / "c.db"
    import_into(db, export())
    only_p1 = export("only", persons="person_id,email\nP1,bram@example.org\n")
    before = file_digest(db)
    with pytest.raises(ImportFailed) as failure:
        import_into(db, only_p1 / "persons.csv", snapshot=True)
    assert any("--snapshot would remove person 'P2'" in p for p in failure.value.problems)
    assert file_digest(db) == before


BAD_INPUT = [
    (
        "missing required column",
        {"courses": "course_id,name,status\nC1,X,final\n"},
        "courses.csv:1: missing required column 'end'",
    ),
    (
        "duplicate key, both lines named",
        {"persons": "person_id,email\nP1,a@example.org\nP2,b@example.org\nP1,c@example.org\n"},
        "persons.csv:2: duplicate key person_id = 'P1' (lines ",
    ),
    (
        "reference to nothing",
        {"enrollments": "course_id,person_id\nC1,P1\nC9,P2\n"},
        "enrollments.csv:3: column 'course_id': course 'C9' exists neither in the database nor in this import",
    ),
    (
        "impossible date",
        {"courses": "course_id,name,status,end\nC1,X,final,31-02-2026\n"},
        "courses.csv:2: column 'end': cannot read '31-02-2026' as a date",
    ),
    (
        "boolean that is no word",
        {"attendance": "part_id,person_id,present\nC1-1,P1,misschien\n"},
        "attendance.csv:2: column 'present': cannot read 'misschien' as yes or no",
    ),
    (
        "percentage out of range",
        {"course_types": "course_type,attendance_percentage\nFOUR,120\n"},
        "course_types.csv:2: column 'attendance_percentage': '120' is not a percentage from 0 to 100",
    ),
    (
        "not an e-mail address",
        {"persons": "person_id,email\nP1,bram-at-example.org\nP2,zoe@example.org\n"},
        "persons.csv:2: column 'email': 'bram-at-example.org' is not an e-mail address",
    ),
    (
        "unknown enrollment status",
        {"enrollments": "course_id,person_id,status\nC1,P1,maybe\n"},
        "enrollments.csv:2: column 'status': unknown enrollment status 'maybe'",
    ),
]


@pytest.mark.parametrize(("case", "files", "message"), BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_is_reported_with_its_place_and_changes_nothing(
    tmp_path: Path, export: Callable[..., Path], case: str, files: dict[str, str], message: str
) -> None:
    db = tmp_path / "c.db"
    import_into(db, export())  # a database with content, closed (checkpointed)
    before = file_digest(db)
    bad = export("bad", **files)
    with pytest.raises(ImportFailed) as failure:
        import_into(db, bad, now="2026-11-09 08:00")
    assert any(message in problem for problem in failure.value.problems), failure.value.problems
    assert file_digest(db) == before
    assert rows(db, "SELECT count(*) FROM imports") == [(1,)]


# the same text in two columns, or an empty value: the error names the column that failed
BAD_CELL = [
    (
        "a one-day course with the same impossible date twice",
        {"courses": "course_id,name,status,start,end\nC1,X,final,31-02-2026,31-02-2026\n"},
        "courses.csv:2: column 'start': cannot read '31-02-2026' as a date",
    ),
    (
        "a part named like a bad boolean",
        {"parts": "part_id,course_id,name,attendance_required\nC1-1,C1,misschien,misschien\n"},
        "parts.csv:2: column 'attendance_required': cannot read 'misschien' as yes or no",
    ),
    (
        "an e-mail address the same as the person's id",
        {"persons": "person_id,email\nbram,bram\n"},
        "persons.csv:2: column 'email': 'bram' is not an e-mail address",
    ),
    (
        "an empty e-mail address",
        {"persons": "person_id,email\nP1,\n"},
        "persons.csv:2: column 'email': an e-mail address is required",
    ),
]


@pytest.mark.parametrize(("case", "files", "message"), BAD_CELL, ids=[c[0] for c in BAD_CELL])
def test_a_bad_cell_is_reported_in_its_own_column(
    tmp_path: Path, export: Callable[..., Path], case: str, files: dict[str, str], message: str
) -> None:
    with pytest.raises(ImportFailed) as failure:
        import_into(tmp_path / "c.db", export(**files))
    assert [p for p in failure.value.problems if message in p], failure.value.problems


def test_every_error_in_the_call_is_listed_not_only_the_first(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    bad = export(
        persons="person_id,email\nP1,nope\nP2,nope2\n",
        courses="course_id,name,status,end\nC1,X,final,32-01-2026\n",
    )
    with pytest.raises(ImportFailed) as failure:
        import_into(tmp_path / "c.db", bad)
    assert failure.value.total == 3


def test_errors_are_capped_but_counted(tmp_path: Path, export: Callable[..., Path]) -> None:
    lines = "\n".join(f"P{i},not-an-address" for i in range(300))
    with pytest.raises(ImportFailed) as failure:
        import_into(tmp_path / "c.db", export(persons=f"person_id,email\n{lines}\n"))
    assert failure.value.total >= 300 and len(failure.value.problems) == 100


def test_unknown_course_type_is_a_warning(tmp_path: Path, export: Callable[..., Path]) -> None:
    courses = """
        course_id,name,course_type,status,end
        C1,X,NEW,final,2026-11-05
    """
    report = import_into(tmp_path / "c.db", export(courses=courses))
    assert any("unknown course type 'NEW'" in w for w in report.warnings)


# --snapshot guards: a failed export job writes a header, or nothing at all

ENROLLMENTS_HEADER = "course_id,person_id,status\n"
ATTENDANCE_HEADER = "part_id,person_id,present\n"

NO_DATA_ROWS = [
    (
        "header-only enrollments",
        {"enrollments": ENROLLMENTS_HEADER},
        "enrollments.csv has no data rows (a failed export?) and would cancel 2 of 2 "
        "enrollments (100 %); --max-remove 100 to empty the table on purpose",
    ),
    (
        "header-only attendance",
        {"attendance": ATTENDANCE_HEADER},
        "attendance.csv has no data rows (a failed export?) and would remove 6 of 6 "
        "attendance rows (100 %); --max-remove 100 to empty the table on purpose",
    ),
    (
        "empty results",
        {"results": ""},
        "results.csv has no data rows (a failed export?) and would remove 2 of 2 results "
        "(100 %); --max-remove 100 to empty the table on purpose",
    ),
    (
        "blank lines only, with a BOM",
        {"persons": "\ufeffperson_id,email\n\n\n"},
        "persons.csv has no data rows (a failed export?) and would remove 2 of 2 persons",
    ),
]


@pytest.mark.parametrize(
    ("case", "files", "message"), NO_DATA_ROWS, ids=[c[0] for c in NO_DATA_ROWS]
)
def test_snapshot_refuses_a_file_without_data_rows_and_changes_nothing(
    tmp_path: Path, export: Callable[..., Path], case: str, files: dict[str, str], message: str
) -> None:
    db = tmp_path / "c.db"
    import_into(db, export())
    before = file_digest(db)
    with pytest.raises(ImportFailed) as failure:
        import_into(db, export("failed", **files), snapshot=True, now="2026-11-02 08:00")
    assert [p for p in failure.value.problems if message in p], failure.value.problems
    assert "--max-remove" in str(failure.value.hint)
    assert file_digest(db) == before


def test_a_file_without_data_rows_is_refused_together_with_the_other_mistakes(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = tmp_path / "c.db"
    import_into(db, export())
    failed = export(
        "failed",
        enrollments=ENROLLMENTS_HEADER,
        courses="course_id,name,status,end\nC1,X,final,31-02-2026\n",
    )
    with pytest.raises(ImportFailed) as failure:
        import_into(db, failed, snapshot=True)
    assert failure.value.total == 2
    assert any("courses.csv:2: column 'end'" in p for p in failure.value.problems)
    assert any("enrollments.csv has no data rows" in p for p in failure.value.problems)


def test_max_remove_100_empties_a_table_on_purpose(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = tmp_path / "c.db"
    import_into(db, export())
    empty = export("empty", attendance=ATTENDANCE_HEADER, results="")
    report = import_into(
        db, empty / "attendance.csv", empty / "results.csv", snapshot=True, max_remove=100
    )
    assert report.counts["attendance"].removed == 6
    assert report.counts["results"].removed == 2
    assert rows(db, "SELECT count(*) FROM attendance") == [(0,)]
    assert rows(db, "SELECT count(*) FROM results") == [(0,)]


def test_without_snapshot_a_file_without_data_rows_is_a_warning_and_removes_nothing(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = tmp_path / "c.db"
    import_into(db, export())
    report = import_into(db, export("failed", enrollments=ENROLLMENTS_HEADER, attendance=""))
    assert any("enrollments.csv: header only; nothing to import" in w for w in report.warnings)
    assert any("attendance.csv: empty file; nothing to import" in w for w in report.warnings)
    assert rows(db, "SELECT count(*) FROM attendance") == [(6,)]
    assert rows(db, "SELECT status, count(*) FROM enrollments GROUP BY status") == [("enrolled", 2)]


def test_snapshot_of_a_file_without_data_rows_for_a_table_holding_nothing_is_a_warning(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    # a new installation whose export has no exam results yet: nothing to lose, so the
    # nightly `import --snapshot && run-due` goes on
    db = tmp_path / "c.db"
    report = import_into(db, export(results="part_id,person_id,passed\n"), snapshot=True)
    assert any("results.csv: header only; nothing to import" in w for w in report.warnings)
    assert report.counts["results"].removed == 0
    assert rows(db, "SELECT count(*) FROM enrollments") == [(2,)]


def _five_attendance_rows(tmp_path: Path, export: Callable[..., Path]) -> Path:
    db = tmp_path / "c.db"
    five = "part_id,person_id,present\n" + "".join(f"C1-{n},P1,yes\n" for n in range(1, 5))
    import_into(db, export(attendance=five + "C1-1,P2,yes\n"))
    return db


def _keeping(export: Callable[..., Path], kept: int) -> Path:
    lines = "".join(f"C1-{n},P1,yes\n" for n in range(1, kept + 1))
    return export(f"keep{kept}", attendance=ATTENDANCE_HEADER + lines) / "attendance.csv"


def test_snapshot_removing_40_percent_passes_without_the_option(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = _five_attendance_rows(tmp_path, export)
    report = import_into(db, _keeping(export, 3), snapshot=True)
    assert report.counts["attendance"].removed == 2
    assert rows(db, "SELECT count(*) FROM attendance") == [(3,)]


def test_snapshot_removing_more_than_half_is_refused_until_max_remove_allows_it(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = _five_attendance_rows(tmp_path, export)
    before = file_digest(db)
    one_left = _keeping(export, 1)  # 4 of 5 go: 80 %
    with pytest.raises(ImportFailed) as failure:
        import_into(db, one_left, snapshot=True)
    assert failure.value.problems == [
        f"{one_left} would remove 4 of 5 attendance rows (80 %); --max-remove 80 to allow"
    ]
    with pytest.raises(ImportFailed):
        import_into(db, one_left, snapshot=True, max_remove=79)
    assert file_digest(db) == before
    report = import_into(db, one_left, snapshot=True, max_remove=80)
    assert report.counts["attendance"].removed == 4
    assert rows(db, "SELECT part_id, person_id FROM attendance") == [("C1-1", "P1")]


def test_the_suggested_max_remove_is_rounded_up_so_that_it_allows_the_import(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = tmp_path / "c.db"
    import_into(db, export())  # 6 attendance rows; keeping 2 removes 4: 66.7 %
    kept = export("kept", attendance=ATTENDANCE_HEADER + "C1-1,P1,yes\nC1-1,P2,yes\n")
    with pytest.raises(ImportFailed) as failure:
        import_into(db, kept / "attendance.csv", snapshot=True)
    assert failure.value.problems[0].endswith(
        "would remove 4 of 6 attendance rows (67 %); --max-remove 67 to allow"
    )
    with pytest.raises(ImportFailed):
        import_into(db, kept / "attendance.csv", snapshot=True, max_remove=66)
    assert import_into(db, kept / "attendance.csv", snapshot=True, max_remove=67)


def test_exactly_half_passes_and_enrollments_count_only_the_newly_cancelled(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = tmp_path / "c.db"
    enrollments = "course_id,person_id,status\n" + "".join(
        f"C1,P{n},{'cancelled' if n == 4 else 'enrolled'}\n" for n in range(1, 5)
    )
    persons = "person_id,email\n" + "".join(f"P{n},p{n}@example.org\n" for n in range(1, 5))
    import_into(db, export(persons=persons, enrollments=enrollments))
    # P4 was cancelled already; leaving out P3 and P4 cancels one more: 1 of 4
    two = export("two", enrollments="course_id,person_id\nC1,P1\nC1,P2\n")
    report = import_into(db, two / "enrollments.csv", snapshot=True)
    assert report.counts["enrollments"].removed == 1
    # 3 of 6 attendance rows: exactly half is not more than half
    three = export("three", attendance=ATTENDANCE_HEADER + "C1-1,P1,y\nC1-2,P1,y\nC1-3,P1,y\n")
    assert (
        import_into(db, three / "attendance.csv", snapshot=True).counts["attendance"].removed == 3
    )


def test_each_table_of_a_snapshot_is_judged_against_its_own_rows(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = tmp_path / "c.db"
    import_into(db, export())
    before = file_digest(db)
    mixed = export(
        "mixed",
        enrollments="course_id,person_id\nC1,P1\n",  # 1 of 2: 50 %, allowed
        results="part_id,person_id,passed\n",  # none: refused
    )
    with pytest.raises(ImportFailed) as failure:
        import_into(db, mixed / "enrollments.csv", mixed / "results.csv", snapshot=True)
    assert len(failure.value.problems) == 1
    assert "results.csv has no data rows" in failure.value.problems[0]
    assert file_digest(db) == before


def test_max_remove_without_snapshot_is_a_usage_error(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    with pytest.raises(UsageError, match="--max-remove goes with --snapshot"):
        import_into(tmp_path / "c.db", export(), max_remove=100)
    with pytest.raises(UsageError, match="from 0 to 100"):
        import_into(tmp_path / "c.db", export(), snapshot=True, max_remove=101)


# language: a code that Babel knows, else no language at all (with a warning)


def test_a_language_that_is_no_code_is_a_warning_and_stored_as_none(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = tmp_path / "c.db"
    persons = export(
        "languages",
        persons="""
            person_id,email,language
            P1,bram@example.org,Nederlands
            P2,zoe@example.org, en-GB
            P3,xx@example.org,xx
            P4,nl@example.org,NL
        """,
        enrollments="course_id,person_id\nC1,P1\n",
    )
    report = import_into(db, persons)
    assert rows(db, "SELECT person_id, language FROM persons ORDER BY 1") == [
        ("P1", None),
        ("P2", "en-GB"),
        ("P3", None),
        ("P4", "NL"),
    ]
    file = persons / "persons.csv"
    assert [w for w in report.warnings if "'language'" in w] == [
        f"{file}:2: column 'language': 'Nederlands' is not a language code (such as nl, en or "
        "en-GB); the person gets the default templates and date format",
        f"{file}:4: column 'language': 'xx' is not a language code (such as nl, en or "
        "en-GB); the person gets the default templates and date format",
    ]


def test_a_person_stored_with_a_bad_language_is_corrected_by_the_next_import(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = tmp_path / "c.db"
    import_into(db, export())
    with sqlite3.connect(db) as conn:  # as an import before this check left it
        conn.execute("UPDATE persons SET language = 'Nederlands' WHERE person_id = 'P1'")
    fixed = export("fixed", persons="person_id,email,language\nP1,bram@example.org,Nederlands\n")
    report = import_into(db, fixed / "persons.csv")
    assert report.counts["persons"].updated == 1
    assert rows(db, "SELECT language FROM persons WHERE person_id = 'P1'") == [(None,)]


def test_many_lines_with_a_bad_language_are_named_up_to_a_cap_then_counted(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    lines = "".join(f"P{n},p{n}@example.org,Nederlands\n" for n in range(1, 31))
    folder = export("many", persons="person_id,email,language\n" + lines)
    report = import_into(tmp_path / "c.db", folder / "persons.csv")
    named = [w for w in report.warnings if "column 'language'" in w]
    assert len(named) == 20 and named[-1].startswith(f"{folder / 'persons.csv'}:21:")
    assert f"{folder / 'persons.csv'}: 10 more lines with a 'language'" in report.warnings[-1]


def test_a_snapshot_file_that_cannot_be_read_is_not_also_called_empty(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = tmp_path / "c.db"
    import_into(db, export())
    no_key = export("no-key", results="part_id,passed\nC1-4,yes\n")
    with pytest.raises(ImportFailed) as failure:
        import_into(db, no_key / "results.csv", snapshot=True)
    assert failure.value.total == 1
    assert "results.csv:1: missing required column 'person_id'" in failure.value.problems[0]


# a file longer than a batch of rows: stored in statements of BATCH rows, then the rest


def _persons(count: int, *, repeat: dict[int, int] | None = None) -> str:
    """persons.csv with `count` rows (P1 on line 2); `repeat` gives a line the key of another."""
    keys = {n: n for n in range(1, count + 1)} | (repeat or {})
    return "person_id,email\n" + "".join(
        f"P{keys[n]},p{n}@example.org\n" for n in range(1, count + 1)
    )


def test_a_file_of_several_batches_is_stored_whole_and_in_order(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    count = 2 * BATCH + BATCH // 2
    db = tmp_path / "c.db"
    folder = export("many", persons=_persons(count))
    first = import_into(db, folder / "persons.csv")
    assert first.counts["persons"].inserted == count
    stored = rows(db, "SELECT person_id, email, seen_line FROM persons ORDER BY seen_line")
    assert stored == [(f"P{n}", f"p{n}@example.org", n + 1) for n in range(1, count + 1)]
    again = import_into(db, folder / "persons.csv", now="2026-11-02 08:00")
    assert again.counts["persons"].unchanged == count
    assert again.counts["persons"].inserted == again.counts["persons"].updated == 0


@pytest.mark.parametrize("held", [False, True], ids=["into an empty table", "into a held one"])
def test_duplicate_keys_are_found_within_a_batch_and_across_batches(
    tmp_path: Path, export: Callable[..., Path], held: bool
) -> None:
    count = 2 * BATCH + BATCH // 2
    # line 41 repeats line 6 (one batch); the last line repeats one of the second batch
    repeat = {40: 5, count: BATCH + 20}
    folder = export("twice", persons=_persons(count, repeat=repeat))
    db = tmp_path / "c.db"
    import_into(db, export() if held else export() / "courses.csv")  # persons held or not
    before = file_digest(db)
    with pytest.raises(ImportFailed) as failure:
        import_into(db, folder / "persons.csv")
    file = folder / "persons.csv"
    assert sorted(failure.value.problems) == sorted(
        [
            f"{file}:6: duplicate key person_id = 'P5' (lines {file}:6 and {file}:41); "
            "keep one row per key",
            f"{file}:{BATCH + 21}: duplicate key person_id = 'P{BATCH + 20}' "
            f"(lines {file}:{BATCH + 21} and {file}:{count + 1}); keep one row per key",
        ]
    )
    assert file_digest(db) == before


# references: each value looked up once, the rows named only for the values missing


def test_a_key_that_could_not_be_read_raises_no_echo_in_the_rows_that_refer_to_it(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    persons = "person_id,email\nP1,bram@example.org\nP2,not-an-address\n"
    with pytest.raises(ImportFailed) as failure:
        import_into(tmp_path / "c.db", export(persons=persons))
    assert failure.value.total == 1
    assert "persons.csv:3: column 'email'" in failure.value.problems[0]


def test_only_this_imports_rows_must_point_at_something(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = tmp_path / "c.db"
    import_into(db, export())
    with sqlite3.connect(db) as conn:  # a person gone behind certify's back
        conn.execute("DELETE FROM persons WHERE person_id = 'P2'")
    p1_only = export("p1", attendance="part_id,person_id,present\nC1-1,P1,yes\nC1-2,P1,no\n")
    assert import_into(db, p1_only / "attendance.csv").counts["attendance"].updated == 1
    both = export("both", attendance="part_id,person_id,present\nC1-1,P1,yes\nC1-2,P2,no\n")
    with pytest.raises(ImportFailed) as failure:
        import_into(db, both / "attendance.csv")
    assert failure.value.problems == [
        f"{both / 'attendance.csv'}:3: column 'person_id': person 'P2' exists neither in the "
        "database nor in this import (import persons.csv too?)"
    ]


def test_tables_filled_from_empty_keep_their_indexes(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    # their indexes are built after the rows are in, and must come back as they were
    indexes = "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"
    Store.open(tmp_path / "fresh.db").close()
    db = tmp_path / "c.db"
    import_into(db, export())
    assert rows(db, indexes) == rows(tmp_path / "fresh.db", indexes)
    assert ("attendance_person",) in rows(
        db, "SELECT name FROM sqlite_master WHERE tbl_name = 'attendance'"
    )


def test_a_failed_import_into_empty_tables_changes_nothing_indexes_and_all(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = tmp_path / "c.db"
    import_into(db, export() / "courses.csv")  # enrollments, attendance, results: empty
    before = file_digest(db)
    bad = export("bad", results="part_id,person_id,passed\nC1-4,P1,misschien\n")
    with pytest.raises(ImportFailed) as failure:
        import_into(db, bad)
    assert failure.value.total == 1
    assert file_digest(db) == before
    assert ("enrollments_person",) in rows(db, "SELECT name FROM sqlite_master")


# one import lists every problem: cell problems, duplicates and references together


def test_one_import_lists_bad_cells_a_missing_column_a_duplicate_and_a_bad_reference(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = tmp_path / "c.db"
    import_into(db, export())
    before = file_digest(db)
    bad = export(
        "bad",
        attendance="part_id,person_id,present\nC1-1,P1,misschien\nC1-2,P1,yes\n",
        persons="person_id,email\nP1,bram@example.org\nP2,zoe-at-example.org\nP1,b@example.org\n",
        results="part_id,person_id,grade\nC1-4,P1,8\n",
        enrollments="course_id,person_id\nC1,P1\nC1,P2\nVCA-2612,P1\n",
    )
    with pytest.raises(ImportFailed) as failure:
        import_into(db, bad, now="2026-11-09 08:00")
    problems = [p.removeprefix(f"{bad}/") for p in failure.value.problems]
    assert sorted(problems) == sorted(
        [
            "attendance.csv:2: column 'present': cannot read 'misschien' as yes or no "
            "(yes/no, y/n, true/false, 1/0, ja/nee, j/n, x/empty, voldoende/onvoldoende, aanwezig/afwezig)",
            "persons.csv:3: column 'email': 'zoe-at-example.org' is not an e-mail address "
            "(An email address must have an @-sign.)",
            f"persons.csv:2: duplicate key person_id = 'P1' (lines {bad}/persons.csv:2 and "
            f"{bad}/persons.csv:4); keep one row per key",
            "results.csv:1: missing required column 'passed' (required: part_id, person_id, "
            "passed; found: part_id, person_id, grade)",
            "enrollments.csv:4: column 'course_id': course 'VCA-2612' exists neither in the "
            "database nor in this import (import courses.csv too?)",
        ]
    ), failure.value.problems
    assert file_digest(db) == before


def test_a_row_kept_out_by_a_bad_cell_still_has_its_references_checked(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = tmp_path / "c.db"
    bad = export(
        enrollments="course_id,person_id,status\nC1,P1,\nVCA-2612,P1,maybe\n,P9,\n",
        attendance="part_id,person_id,present\nC1-1,P1,yes\nC9-1,P2,misschien\n",
    )
    with pytest.raises(ImportFailed) as failure:
        import_into(db, bad)
    assert [p.removeprefix(f"{bad}/") for p in failure.value.problems] == [
        "enrollments.csv:3: column 'status': unknown enrollment status 'maybe' (enrolled or "
        "cancelled)",
        "enrollments.csv:4: column 'course_id': a value is required (the key)",
        "attendance.csv:3: column 'present': cannot read 'misschien' as yes or no "
        "(yes/no, y/n, true/false, 1/0, ja/nee, j/n, x/empty, voldoende/onvoldoende, aanwezig/afwezig)",
        # each the line of a row that was kept out, found by the value it refers to
        "enrollments.csv:3: column 'course_id': course 'VCA-2612' exists neither in the "
        "database nor in this import (import courses.csv too?)",
        "enrollments.csv:4: column 'person_id': person 'P9' exists neither in the database "
        "nor in this import (import persons.csv too?)",
        "attendance.csv:3: column 'part_id': part 'C9-1' exists neither in the database nor "
        "in this import (import parts.csv too?)",
    ]
    assert not db.exists() or rows(db, "SELECT count(*) FROM enrollments") == [(0,)]


def test_references_to_a_table_whose_file_could_not_be_read_are_not_judged(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    # without persons.csv's rows every enrollment, attendance and result row would point at
    # "nothing": the one real problem is the missing column
    bad = export(persons="person_id,first_name\nP1,Bram\nP2,Zoë\n")
    with pytest.raises(ImportFailed) as failure:
        import_into(tmp_path / "c.db", bad)
    assert failure.value.problems == [
        f"{bad / 'persons.csv'}:1: missing required column 'email' (required: person_id, "
        "email; found: person_id, first_name)"
    ]


def test_a_bad_reference_next_to_a_bad_cell_elsewhere_is_checked_against_the_database(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = tmp_path / "c.db"
    import_into(db, export())
    # courses are not in this import: C1 is found in the database, C2 nowhere
    bad = export("bad", enrollments="course_id,person_id\nC1,P1\nC2,P2\n")
    persons = "person_id,email\nP1,bram@example.org\nP2,\n"
    (bad / "persons.csv").write_text(persons)
    with pytest.raises(ImportFailed) as failure:
        import_into(db, bad / "persons.csv", bad / "enrollments.csv")
    assert [p.removeprefix(f"{bad}/") for p in failure.value.problems] == [
        "persons.csv:3: column 'email': an e-mail address is required",
        "enrollments.csv:3: column 'course_id': course 'C2' exists neither in the database "
        "nor in this import (import courses.csv too?)",
    ]


def test_a_row_with_an_unquoted_comma_before_its_key_raises_no_echo(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    """The key is not the first column, and a comma in the name shifts it: the rows that
    refer to this course are not reported as referring to nothing."""
    courses = """
        name,course_id,course_type,status,start,end
        Display, training,C1,FOUR,final,2026-11-01,2026-11-05 17:00
    """
    db = tmp_path / "certify.db"
    with pytest.raises(ImportFailed) as failed:
        import_into(db, export(courses=courses))
    assert len(failed.value.problems) == 1, failed.value.problems
    assert "7 fields but the header has 6" in failed.value.problems[0]
