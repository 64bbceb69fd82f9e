"""`certify validate --db`: the templates rendered for real participants, settings against data."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import cli, import_into, make_config, write


@pytest.fixture
def two_persons(tmp_path: Path, export: Callable[..., Path]) -> Path:
    import_into(
        tmp_path / "certify.db",
        export(
            persons="person_id,first_name,last_name,email,language,employer\n"
            "P1,Bram,Berg,bram@example.org,nl,Gemeente\nP2,Zoë,Öztürk,zoe@example.org,en,\n"
        ),
    )
    make_config(tmp_path)
    return tmp_path


def validate(two_persons: Path) -> tuple[int, dict[str, list[str]]]:
    result = cli("validate", "--db", "certify.db", "--json", cwd=two_persons)
    return result.returncode, json.loads(result.stdout)


def test_a_template_that_only_real_data_breaks_is_found_with_its_participant(
    two_persons: Path,
) -> None:
    # the sample course has a location; the real one has none
    write(
        two_persons / "templates",
        "certificate.en.txt.j2",
        "---\nsubject: x\n---\nPlace: {{ course.location[0] }}\n",
    )
    assert cli("validate", cwd=two_persons).returncode == 0
    code, report = validate(two_persons)
    assert code == 1
    (problem,) = report["problems"]
    assert "certificate.en.txt.j2:4:" in problem and "(participant C1/P2)" in problem


def test_settings_that_match_nothing_are_warnings(two_persons: Path) -> None:
    actions = two_persons / "actions.yaml"
    actions.write_text(actions.read_text().replace("course_status: final", "course_status: finall"))
    code, report = validate(two_persons)
    assert code == 0 and report["problems"] == []
    (warning,) = report["warnings"]
    assert (
        "course_status 'finall' matches no course" in warning and "did you mean 'final'" in warning
    )
    run = cli("run-due", "--dry-run", "--now", "2026-11-06T09:00", cwd=two_persons)
    assert "warning: actions.yaml:" in run.stderr and "finall" in run.stderr


def test_all_well_against_the_data(two_persons: Path) -> None:
    result = cli("validate", "--db", "certify.db", cwd=two_persons)
    assert result.returncode == 0 and result.stdout.strip() == "actions.yaml: ok against certify.db"


def test_a_broken_indent_in_actions_yaml_is_said_in_plain_words(examples: Path) -> None:
    actions = examples / "actions.yaml"
    lines = actions.read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines[34] == "      unit: days\n"
    lines[34] = "     unit: days\n"  # one space short
    actions.write_text("".join(lines), encoding="utf-8")
    result = cli("validate", cwd=examples)
    assert result.returncode == 1
    assert (
        "actions.yaml:35:6: the indentation does not line up with the lines above (check the "
        "spaces before this line; tabs are not allowed) [YAML: while parsing a block mapping: "
        "expected <block end>, but found '<block mapping start>']"
    ) in result.stderr, result.stderr


def test_a_tab_in_a_certificate_layout_is_said_in_plain_words(examples: Path) -> None:
    layout = examples / "templates" / "certificate.pdf.yaml"
    text = layout.read_text(encoding="utf-8")
    layout.write_text(text.replace("\n  name:", "\n\tname:", 1), encoding="utf-8")
    line = text.split("\n  name:", 1)[0].count("\n") + 2  # the signature's name, tabbed
    result = cli("validate", cwd=examples)
    assert result.returncode == 1
    assert (
        f"certificate.pdf.yaml:{line}:1: a tab character: YAML takes spaces only, also for "
        "indentation (replace it with spaces)"
    ) in result.stderr, result.stderr


def test_a_folder_given_as_the_actions_file_is_named_as_one(examples: Path) -> None:
    result = cli("validate", "--actions", "templates", cwd=examples)
    assert result.returncode == 1
    assert result.stderr == (
        "error: templates is a folder; --actions takes the actions.yaml file\n"
        "hint: pass the actions.yaml file with --actions, or run where it lives\n"
    )
    # a folder that holds one: the hint names it
    result = cli("validate", "--actions", ".", cwd=examples)
    assert result.returncode == 1
    assert "hint: --actions actions.yaml\n" in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        (
            "person.extra.werkgever",
            "person.extra has no column 'werkgever' for this participant (its columns: 'employer')",
        ),
        (
            "person.extra.Employer",
            "person.extra has no column 'Employer' for this participant (header names are "
            "read in lower case: person.extra.employer)",
        ),
        (
            "person.extra['employr']",
            "person.extra has no column 'employr' for this participant (its columns: "
            "'employer'; did you mean 'employer'?)",
        ),
        (
            "course.extra.werkgever",
            "course.extra has no column 'werkgever' for this participant (courses.csv has no "
            "columns beyond its own)",
        ),
    ],
)
def test_an_extra_column_the_export_lacks_is_named_with_those_it_has(
    two_persons: Path, written: str, problem: str
) -> None:
    write(
        two_persons / "templates",
        "certificate.txt.j2",
        f"---\nsubject: x\n---\n{{{{ {written} }}}}\n",
    )
    assert cli("validate", cwd=two_persons).returncode == 0  # the sample has every column
    code, report = validate(two_persons)
    assert code == 1
    assert report["problems"] == [
        f"{two_persons / 'templates' / 'certificate.txt.j2'}:4: {problem} (participant C1/P1)"
    ]


def test_a_run_names_the_extra_columns_too(two_persons: Path) -> None:
    """The run that meets the template first says what validate --db says."""
    write(
        two_persons / "templates",
        "certificate.txt.j2",
        "---\nsubject: x\n---\n{{ person.extra.werkgever }}\n",
    )
    result = cli(
        "run-due",
        "--now",
        "2026-11-06T09:00",
        "--transport",
        "dir",
        "--out",
        "outbox",
        cwd=two_persons,
    )
    assert result.returncode == 1
    assert (
        "certificate.txt.j2:4: person.extra has no column 'werkgever' for this participant "
        "(its columns: 'employer')"
    ) in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("pattern", "said"),
    [
        ("dd-MM-jjjj", "'j' is no pattern letter"),  # would print 17-11-jjjj
        ("DD-MM-YYYY", "D is the day of the year; the day of the month is d"),  # 321-11-2026
        ("dd-mm-yyyy", "'m' is a time of day, which a date has not; the month is M"),
    ],
)
def test_a_date_pattern_that_would_print_something_else_is_a_problem(
    two_persons: Path, pattern: str, said: str
) -> None:
    write(
        two_persons / "templates",
        "certificate.txt.j2",
        f'---\nsubject: x\n---\nOp {{{{ course.end | date("{pattern}") }}}}\n',
    )
    result = cli("validate", "--json", cwd=two_persons)
    assert result.returncode == 1
    [problem] = json.loads(result.stdout)["problems"]
    assert problem.startswith(f"{two_persons / 'templates' / 'certificate.txt.j2'}:4: ")
    assert said in problem


def test_a_good_date_pattern_passes_with_words_in_quotes(two_persons: Path) -> None:
    write(
        two_persons / "templates",
        "certificate.txt.j2",
        "---\nsubject: x\n---\n"
        "{{ now | date(\"EEEE d MMMM yyyy 'om' HH:mm\") }}\n"
        '{{ course.end | date("dd-MM-yyyy") }}\n',
    )
    assert cli("validate", cwd=two_persons).returncode == 0


def test_requirements_met_on_a_course_with_nothing_to_register_is_a_warning(
    switched_on: Path,
) -> None:
    """By the rule for an empty requirement such participants are due at enrollment: a
    proof of participation anchored so would go out before the webinar takes place."""
    actions = switched_on / "actions.yaml"
    actions.write_text(actions.read_text().replace("after: course_end", "after: requirements_met"))
    result = cli("validate", "--db", "certify.db", "--json", cwd=switched_on)
    assert result.returncode == 0
    [warning] = json.loads(result.stdout)["warnings"]
    assert "1 course of action 'proof-of-participation' has nothing to register" in warning
    assert "WEB-2611 (WEBINAR)" in warning and "anchor the action on course_end" in warning
