import pytest

from certify.located import KEY_MARK, parse_yaml

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
