from datetime import date, datetime
from typing import Annotated, Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from certify.yamlfile import KEY_MARK, parse_yaml, validation_problems, where

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


INDENTATION = (
    "the indentation does not line up with the lines above (check the spaces before this "
    "line; tabs are not allowed)"
)


# the common syntax errors in plain words, at the place to fix, PyYAML's words kept after them
@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "actions:\n  - id: x\n    timing:\n      after: course_end\n     offset: 1\n",
            f"actions.yaml:5:6: {INDENTATION} [YAML: while parsing a block mapping: expected "
            "<block end>, but found '<block mapping start>']",
        ),
        ("a:\n  - x\n  b: 1\n", f"actions.yaml:3:3: {INDENTATION} [YAML: "),
        ("a: 1\n- b\n", f"actions.yaml:2:1: {INDENTATION} [YAML: "),
        (
            "a: 1\n  b: 2\n",
            "actions.yaml:2:4: a ':' where no key can start: is this line indented deeper than "
            "the one above, or does a ':' on the line above lack the space after it? "
            "[YAML: mapping values are not allowed here]",
        ),
        (
            "name: Certificate: VCA\n",
            "actions.yaml:1:18: a second ': ' on this line; put the whole value in quotes "
            '(name: "Certificate: VCA") [YAML: mapping values are not allowed here]',
        ),
        (
            "a:\n\tb: 1\n",
            "actions.yaml:2:1: a tab character: YAML takes spaces only, also for indentation "
            "(replace it with spaces) [YAML: while scanning for the next token: found "
            "character '\\t' that cannot start any token]",
        ),
        (
            "a: 1\nthis is text\nc: 2\n",
            "actions.yaml:2:1: a line that is not `key: value`: the ':' is missing, or a text "
            "over several lines needs quotes (or `|`) [YAML: while scanning a simple key: "
            "could not find expected ':']",
        ),
        (
            "a: 'open\n",
            "actions.yaml:1:4: the quote that opens here is not closed (end the value with the "
            "same quote mark) [YAML: while scanning a quoted scalar: found unexpected end of "
            "stream]",
        ),
        ('a: "open\nb: 2\n', "actions.yaml:1:4: the quote that opens here is not closed"),
        (
            "a: [1, 2\nb: 3\n",
            "actions.yaml:1:4: the '[' that opens here is not closed with ']' (or a ',' is "
            "missing between its items); a text that starts with '[' needs quotes [YAML: "
            "while parsing a flow sequence: expected ',' or ']', but got ':']",
        ),
        ("a: {x: 1\nb: 3\n", "actions.yaml:1:4: the '{' that opens here is not closed with '}'"),
        (
            "subject: {Opleiding} certificaat\n",
            "actions.yaml:1:22: text after a closing quote or bracket; put the whole value in "
            "quotes [YAML: ",
        ),
        (
            'out: "C:\\data"\n',
            "actions.yaml:1:9: in double quotes a backslash starts an escape such as \\n: "
            "write \\\\ for a backslash, or use single quotes ('C:\\exports') [YAML: ",
        ),
        (
            "a: @x\n",
            "actions.yaml:1:4: a value cannot start with '@'; put the whole value in quotes",
        ),
        (
            "a: *base\n",
            "actions.yaml:1:4: '*base' refers to no anchor above it (mark the value to reuse "
            "with &base) [YAML: found undefined alias 'base']",
        ),
        ("a: 1\n---\nb: 2\n", "actions.yaml:2:1: a second document ('---'): the file holds one"),
        # a rare one keeps PyYAML's words
        ("a: &\n", "actions.yaml:1:5: not valid YAML: expected alphabetic or numeric"),
    ],
)
def test_a_syntax_error_is_said_in_plain_words_where_it_is_fixed(text: str, problem: str) -> None:
    data, _, problems = parse_yaml(text, "actions.yaml")
    assert data is None
    assert len(problems) == 1 and problems[0].startswith(problem), problems


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
        # YAML 1.1 reads these as base-60 numbers (540, 1050, 3723): they are times of day
        ("9:00", "9:00"),
        ("17:30", "17:30"),
        ("1:02:03", "1:02:03"),
        ("14", 14),
        # no octal: a leading zero is just a zero (YAML 1.1 made 017 fifteen)
        ("017", 17),
        ("-017", -17),
        ("0o17", 15),
        ("0x1f", 31),
        # a decimal is a number whatever its sign (PyYAML made 1.5 a string, -1.5 a float)
        ("1.5", 1.5),
        ("-1.5", -1.5),
        ("+1.5", 1.5),
        (".5", 0.5),
        ("1e3", 1000.0),
        ("1_000", "1_000"),
        ("2026-12-01", date(2026, 12, 1)),
        ("2026-12-01 09:00", "2026-12-01 09:00"),
        ("~", None),
    ],
)
def test_scalars_keep_what_the_writer_meant(text: str, value: object) -> None:
    data, _, problems = parse_yaml(f"value: {text}\n", "actions.yaml")
    assert problems == []
    assert data["value"] == value and type(data["value"]) is type(value)


MERGED = """\
base: &base
  timing: {after: course_end, unit: days}
  execution: manual
  email_template: base
other: &other
  execution: automatic
  email_template: other
action:
  <<: [*base, *other]
  execution: automatic
  id: first
"""


def test_merge_keys_merge_as_yaml_users_expect() -> None:
    data, positions, problems = parse_yaml(MERGED, "actions.yaml")
    assert problems == []
    # written keys win over merged ones; of several bases the first wins
    assert data["action"] == {
        "id": "first",
        "execution": "automatic",
        "timing": {"after": "course_end", "unit": "days"},
        "email_template": "base",
    }
    # a merged value is located where the base writes it, where a fix would go
    assert positions[("action", "timing", "after")] == (2, 19)
    assert positions[("action", "email_template")] == (4, 19)
    assert positions[("action", "execution")] == (10, 14)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a: 1\n<<: 3\n", "actions.yaml:2:5: '<<' merges a mapping"),
        (
            "b: &b {x: 1}\nc: {<<: *b, <<: *b}\n",
            "actions.yaml:2:13: duplicate key '<<' (merge several: `<<: [*a, *b]`)",
        ),
        ("a: &x {<<: *x, b: 1}\n", "actions.yaml:1:4: an alias refers to a node that contains it"),
    ],
)
def test_a_wrong_merge_is_located(text: str, problem: str) -> None:
    _, _, problems = parse_yaml(text, "actions.yaml")
    assert any(p.startswith(problem) for p in problems), problems


LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(8)
)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a: 1\nb: \x07\n", "actions.yaml:2:4: not valid YAML: control character U+0007"),
        ('a: "x\x01"\n', "actions.yaml:1:6: not valid YAML: control character U+0001"),
        ("? [a, b]\n: 1\n", "actions.yaml:1:3: a key must be a single word, not a list"),
        ("? {a: b}\n: 1\n", "actions.yaml:1:3: a key must be a single word, not a mapping"),
        (
            "since: 2026-02-30\n",
            "actions.yaml:1:8: cannot read '2026-02-30' as a date (month 2 of 2026 has 28 days, not 30)",
        ),
        ("offset: !!int x\n", "actions.yaml:1:9: cannot read 'x' as a whole number"),
        ("a: !!python/object x\n", "actions.yaml:1:4: not valid YAML: could not determine"),
        ("a: &x [*x]\n", "actions.yaml:1:4: an alias refers to a node that contains it"),
        ("a: " + "[" * 5000, "actions.yaml:1:1: not valid YAML: nested too deeply"),
        (LAUGHS, "more than 100000 values"),
    ],
)
def test_parse_yaml_never_raises_it_locates(text: str, problem: str) -> None:
    _, _, problems = parse_yaml(text, "actions.yaml")
    assert any(problem in p for p in problems), problems


@given(st.text(max_size=200))
def test_any_text_gives_values_or_located_problems(text: str) -> None:
    _, _, problems = parse_yaml(text, "actions.yaml")
    assert all(p.startswith("actions.yaml") for p in problems)


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
