"""`certify validate --db`: the templates rendered for real participants, settings against data."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import cli, import_into, make_config, write


@pytest.fixture
def world(tmp_path: Path, export: Callable[..., Path]) -> Path:
    import_into(
        tmp_path / "certify.db",
        export(
            persons="person_id,first_name,last_name,email,language,employer\n"
            "P1,Bram,Berg,bram@example.org,nl,Gemeente\nP2,Zoë,Öztürk,zoe@example.org,en,\n"
        ),
    )
    make_config(tmp_path)
    return tmp_path


def validate(world: Path) -> tuple[int, dict[str, list[str]]]:
    result = cli("validate", "--db", "certify.db", "--json", cwd=world)
    return result.returncode, json.loads(result.stdout)


def test_a_template_that_only_real_data_breaks_is_found_with_its_participant(world: Path) -> None:
    # the sample course has a location; the real one has none
    write(
        world / "templates",
        "certificate.en.txt.j2",
        "---\nsubject: x\n---\nPlace: {{ course.location[0] }}\n",
    )
    assert cli("validate", cwd=world).returncode == 0
    code, report = validate(world)
    assert code == 1
    (problem,) = report["problems"]
    assert "certificate.en.txt.j2:4:" in problem and "(participant C1/P2)" in problem


def test_settings_that_match_nothing_are_warnings(world: Path) -> None:
    actions = world / "actions.yaml"
    actions.write_text(actions.read_text().replace("course_status: final", "course_status: finall"))
    code, report = validate(world)
    assert code == 0 and report["problems"] == []
    (warning,) = report["warnings"]
    assert (
        "course_status 'finall' matches no course" in warning and "did you mean 'final'" in warning
    )
    run = cli("run-due", "--dry-run", "--now", "2026-11-06T09:00", cwd=world)
    assert "warning: actions.yaml:" in run.stderr and "finall" in run.stderr


def test_all_well_against_the_data(world: Path) -> None:
    result = cli("validate", "--db", "certify.db", cwd=world)
    assert result.returncode == 0 and result.stdout.strip() == "actions.yaml: ok against certify.db"
