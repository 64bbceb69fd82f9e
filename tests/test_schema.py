"""`certify schema` accepts every actions.yaml that `certify validate` accepts, and editors
that check with it reject the ordinary mistakes."""

import json
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, Draft202012Validator

from certify.inspect.validate import validate_all
from certify.yamlfile import parse_yaml
from tests.helpers import ROOT, TEXT_TEMPLATE, cli

VALIDATORS = [Draft202012Validator, Draft7Validator]  # YAML editors mostly speak draft 7


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    result = cli("schema")
    assert result.returncode == 0, result.stderr
    value: dict[str, Any] = json.loads(result.stdout)
    return value


def as_an_editor_sees_it(value: Any) -> Any:
    """certify's reading of the YAML as JSON: a date is text (YAML 1.2 has no dates)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): as_an_editor_sees_it(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_an_editor_sees_it(item) for item in value]
    return value


def schema_errors(
    schema: dict[str, Any], text: str, validator: Any = Draft202012Validator
) -> list[str]:
    data, _, problems = parse_yaml(text, "actions.yaml")
    assert problems == []
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator(schema).iter_errors(as_an_editor_sees_it(data))
    ]


def readme_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return [block for block in re.findall(r"```yaml\n(.*?)```", text, re.S) if "actions:" in block]


def test_the_schema_names_its_dialect_and_is_one(schema: dict[str, Any]) -> None:
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "certify actions.yaml" and schema["description"]
    for validator in VALIDATORS:
        validator.check_schema(schema)


@pytest.mark.parametrize("validator", VALIDATORS)
def test_the_shipped_actions_yaml_passes(schema: dict[str, Any], validator: Any) -> None:
    assert schema_errors(schema, (ROOT / "actions.yaml").read_text(), validator) == []


@pytest.mark.parametrize("validator", VALIDATORS)
def test_every_actions_example_in_the_readme_passes(schema: dict[str, Any], validator: Any) -> None:
    blocks = readme_blocks()
    assert blocks, "the README shows an actions.yaml"
    for block in blocks:
        assert schema_errors(schema, block, validator) == [], block


BASE = """version: 1
timezone: Europe/Amsterdam
sender: "Office <office@example.org>"
locale: en-GB
actions:
  - id: certificate
    name: "Certificate [Opleiding:Naam]"
    email_template: certificate
    timing: {after: course_end, offset: 1, unit: days, at: "09:00"}
    conditions:
      course_status: final
      attendance: yes
      pass: no
"""

# every form `validate` accepts, each written as administrators write it
ACCEPTED = [
    ('at: "09:00"', "at: 9:00"),
    ('at: "09:00"', "at: 17:30"),
    ('at: "09:00"', 'at: " 9:05 "'),
    ("unit: days", "unit: weeks"),
    ("offset: 1", "offset: 0"),
    ("course_status: final", "course_status: [final, Definitief, te starten]"),
    ("course_status: final", "course_status: DEFINITIEF"),
    ("pass: no", "pass: not_met"),
    ("attendance: yes", "attendance: ja"),
    ("pass: no", "pass: nee"),
    ("pass: no", "pass: niet behaald"),
    ("attendance: yes", "attendance: true"),
    ("pass: no", "pass: false"),
    ("    conditions:", "    course_types: VCA\n    conditions:"),
    ("    conditions:", "    course_types: [VCA, BHV]\n    conditions:"),
    ("    conditions:", "    expire_after: 60 days\n    conditions:"),
    ("    conditions:", "    expire_after: 1 month\n    conditions:"),
    ("    conditions:", "    expire_after: {amount: 36, unit: hours}\n    conditions:"),
    ("    conditions:", "    since: 2026-12-01\n    conditions:"),
    ("    conditions:", "    since: 2026-11-19 09:00\n    conditions:"),
    ("    conditions:", "    since: 2026-11-19 09:00:00\n    conditions:"),
    ("    conditions:", '    since: "2026-11-19T09:00+01:00"\n    conditions:'),
    ("    conditions:", "    since: 2026-11-19T09:00:00Z\n    conditions:"),
    ("    conditions:", "    since: 19-11-2026 09:00\n    conditions:"),
    ("    conditions:", "    since: 19-11-2026\n    conditions:"),
    ("    conditions:", "    execution: manual\n    conditions:"),
    ("locale: en-GB", "locale: nl"),
    ("sender:", "attendance_basis: all_parts\nsender:"),
    ("sender:", "delivery: {transport: dir, out: outbox}\nsender:"),
    ("sender:", "smtp: {host: smtp.example.org, port: 587, security: starttls}\nsender:"),
]


@pytest.mark.parametrize(("old", "new"), ACCEPTED)
def test_what_validate_accepts_the_schema_accepts(
    schema: dict[str, Any], tmp_path: Path, old: str, new: str
) -> None:
    text = BASE.replace(old, new, 1)
    assert text != BASE
    (tmp_path / "actions.yaml").write_text(text)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "certificate.txt.j2").write_text(TEXT_TEMPLATE)
    assert validate_all(tmp_path / "actions.yaml") == []
    for validator in VALIDATORS:
        assert schema_errors(schema, text, validator) == []


def test_yes_and_no_as_an_editor_on_yaml_1_1_reads_them(schema: dict[str, Any]) -> None:
    """YAML 1.1 makes `yes` a boolean; an editor set to 1.1 must not complain about it."""
    data, _, _ = parse_yaml(BASE, "actions.yaml")
    data["actions"][0]["conditions"].update({"attendance": True, "pass": False})
    assert list(Draft202012Validator(schema).iter_errors(as_an_editor_sees_it(data))) == []


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        ("attendance: yes", "attendence: yes", "actions/0/conditions: Additional properties"),
        ("unit: days", "unit: fortnights", "actions/0/timing/unit: 'fortnights' is not one of"),
        (
            "    conditions:",
            "    expire_after: 3 fortnights\n    conditions:",
            "actions/0/expire_after: '3 fortnights' is not valid",
        ),
        ('at: "09:00"', 'at: "25:00"', "actions/0/timing/at: '25:00' is not valid"),
        ("offset: 1", "offset: -1", "actions/0/timing/offset: -1 is less than the minimum"),
        ("attendance: yes", "attendance: maybe", "actions/0/conditions/attendance: 'maybe'"),
        (
            "    conditions:",
            "    course_types: []\n    conditions:",
            "actions/0/course_types: [] is not valid",
        ),
        (
            "    conditions:",
            "    since: tomorrow\n    conditions:",
            "actions/0/since: 'tomorrow' is not valid",
        ),
        ("version: 1", "version: 2", "version: 1 was expected"),
    ],
)
def test_ordinary_mistakes_fail_the_schema(
    schema: dict[str, Any], old: str, new: str, error: str
) -> None:
    for validator in VALIDATORS:
        errors = schema_errors(schema, BASE.replace(old, new, 1), validator)
        assert len(errors) == 1 and errors[0].startswith(error), errors
