from datetime import date, datetime
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from certify.located import KEY_MARK, parse_yaml, validation_problems, where

NESTED = """\
sender: office
actions:
  - id: first
    timing:
      after: course_end
  - id: second
    attachments:
      - {template: certificate}
"""


def test_every_node_and_key_has_its_place() -> None:
    data, positions, problems = parse_yaml(NESTED, "actions.yaml")
    assert problems == []
    assert data["actions"][1]["attachments"][0]["template"] == "certificate"
    assert positions[()] == (1, 1)
    assert positions[("sender",)] == (1, 9)
    assert positions[("actions", 0)] == (3, 5)
    assert positions[("actions", 0, "timing", "after")] == (5, 14)
    assert positions[("actions", 0, "timing", "after", KEY_MARK)] == (5, 7)
    assert positions[("actions", 1, "attachments", 0)] == (8, 9)
    assert positions[("actions", 1, "attachments", 0, "template")] == (8, 20)
    assert positions[("actions", 1, "attachments", 0, "template", KEY_MARK)] == (8, 10)


def test_a_duplicate_key_is_located_and_the_first_value_kept() -> None:
    data, _, problems = parse_yaml("timing:\n  offset: 1\n  offset: 2\n", "actions.yaml")
    assert problems == ["actions.yaml:3:3: duplicate key 'offset'"]
    assert data == {"timing": {"offset": 1}}


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("a: [1, 2\nb: 3\n", "actions.yaml:2:2: not valid YAML:"),
        ("a: 1\n  b: 2\n", "actions.yaml:2:4: not valid YAML:"),
        ("a: 'open\n", "actions.yaml:2:1: not valid YAML:"),
    ],
)
def test_a_syntax_error_is_located(text: str, place: str) -> None:
    data, _, problems = parse_yaml(text, "actions.yaml")
    assert data is None
    assert len(problems) == 1 and problems[0].startswith(place), problems


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("yes", "yes"),
        ("no", "no"),
        ("on", "on"),
        ("off", "off"),
        ("true", True),
        ("false", False),
        ("09:00", "09:00"),
        ("14", 14),
        ("~", None),
    ],
)
def test_scalars_keep_what_the_writer_meant(text: str, value: object) -> None:
    data, _, problems = parse_yaml(f"value: {text}\n", "actions.yaml")
    assert problems == []
    assert data["value"] == value and type(data["value"]) is type(value)


def test_an_empty_document_is_none() -> None:
    assert parse_yaml("# nothing here\n", "actions.yaml") == (None, {}, [])


def test_where_falls_back_to_the_nearest_parent() -> None:
    _, positions, _ = parse_yaml(NESTED, "actions.yaml")
    assert where("actions.yaml", positions, ("actions", 0, "timing")) == "actions.yaml:5:7"
    assert where("actions.yaml", positions, ("actions", 0, "timing", "at")) == "actions.yaml:5:7"
    assert where("actions.yaml", positions, ("nowhere",)) == "actions.yaml:1:1"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Knob(_Strict):
    colour: Literal["red", "green"] = "red"
    turns: int = Field(0, ge=0)


class Lever(_Strict):
    turns: int


class Panel(_Strict):
    label: str
    handle: Knob | Lever | None = None
    knobs: list[Knob] = []
    spare: Knob | None = None
    main: Annotated[Knob | None, Field(None)] = None
    since: datetime | date | None = None
    pass_: bool = Field(False, alias="pass")


def problems_of(text: str, nouns: dict[str, str] | None = None) -> list[str]:
    data, positions, problems = parse_yaml(text, "panel.yaml")
    assert problems == []
    with pytest.raises(ValidationError) as failure:
        Panel.model_validate(data)
    return validation_problems(failure.value, Panel, "panel.yaml", positions, nouns)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "label: x\nknobs:\n  - {turns: 1}\n  - {tunrs: 2}\n",
            "panel.yaml:4:6: unknown key 'tunrs' (did you mean 'turns'?)",
        ),
        (
            "label: x\nspare:\n  colour: red\n  color: red\n",
            "panel.yaml:4:3: unknown key 'color' (did you mean 'colour'?)",
        ),
        (
            "label: x\nmain: {trns: 1}\n",
            "panel.yaml:2:8: unknown key 'trns' (did you mean 'turns'?)",
        ),
        ("label: x\npas: true\n", "panel.yaml:2:1: unknown key 'pas' (did you mean 'pass'?)"),
        ("label: x\nknobs: [{turns: -1}]\n", "panel.yaml:2:17: 'turns' must be 0 or more, not -1"),
        (
            "label: x\nknobs: [{turns: many}]\n",
            "panel.yaml:2:17: 'turns' must be a whole number, not 'many'",
        ),
        ("knobs: []\n", "panel.yaml:1:1: missing required key 'label'"),
        ("label: x\nsince: [1]\n", "panel.yaml:2:8: 'since': Input should be a valid date"),
    ],
)
def test_each_problem_names_the_key_as_written(text: str, expected: str) -> None:
    assert expected in problems_of(text)


def test_a_literal_is_named_by_the_noun_given_for_its_key() -> None:
    assert problems_of("label: x\nspare: {colour: blue}\n", {"colour": "paint"}) == [
        "panel.yaml:2:17: unknown paint 'blue' (red, green)"
    ]


def test_problems_come_by_line_and_column_each_once() -> None:
    text = (
        "bogus: 1\nknobs:\n  - {colour: blue, turns: -1}\nlabel: x\nhandle: {turns: 1, tunrs: 1}\n"
    )
    assert problems_of(text) == [
        "panel.yaml:1:1: unknown key 'bogus' (known keys: label, handle, knobs, spare, main, since, pass)",
        "panel.yaml:3:14: unknown colour 'blue' (red, green)",
        "panel.yaml:3:27: 'turns' must be 0 or more, not -1",
        # both members of the union reject it; said once
        "panel.yaml:5:20: unknown key 'tunrs' (did you mean 'turns'?)",
    ]
