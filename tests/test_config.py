from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from certify.config import load, parse_duration
from certify.decide import rules
from certify.decide.plan import make_plan
from certify.errors import CertifyError, ConfigError
from certify.inspect.validate import validate_all
from certify.store.database import Store
from tests.helpers import ROOT, import_into, make_config, moment


def problems_of(tmp_path: Path, yaml_text: str) -> list[str]:
    path = tmp_path / "actions.yaml"
    path.write_text(yaml_text)
    (tmp_path / "templates").mkdir(exist_ok=True)
    (tmp_path / "templates" / "certificate.txt.j2").write_text("---\nsubject: Hi\n---\nHello\n")
    return validate_all(path)


GOOD = """version: 1
timezone: Europe/Amsterdam
sender: "Office <office@example.org>"
actions:
  - id: certificate
    name: "Certificate [Opleiding:Naam]"
    email_template: certificate
    timing:
      after: course_end
      offset: 1
      unit: days
      at: "09:00"
    conditions:
      course_status: final
      attendance: yes
      pass: no
"""


def located_in(tmp_path: Path, yaml_text: str) -> list[str]:
    """The problems of this actions.yaml, named as the file's own name."""
    return [p.removeprefix(f"{tmp_path}/") for p in problems_of(tmp_path, yaml_text)]


def test_the_shipped_actions_validate() -> None:
    assert validate_all(ROOT / "actions.yaml") == []


def test_the_request_vocabulary_is_read_as_written(tmp_path: Path) -> None:
    assert problems_of(tmp_path, GOOD) == []
    config = load(tmp_path / "actions.yaml")
    conditions = config.actions[0].conditions
    assert (conditions.attendance, conditions.pass_) == ("yes", "no")
    assert conditions.course_status == ["final"]
    assert config.actions[0].timing.at == "09:00"


def test_unquoted_time_of_day_is_not_sexagesimal(tmp_path: Path) -> None:
    assert problems_of(tmp_path, GOOD.replace('at: "09:00"', "at: 09:00")) == []
    assert load(tmp_path / "actions.yaml").actions[0].timing.at == "09:00"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("unit: days", "unit: fortnights"),
            "actions.yaml:11:13: unknown unit 'fortnights' (hours, days, weeks, months, years)",
        ),
        (
            ("attendance: yes", "attendence: yes"),
            "actions.yaml:15:7: unknown key 'attendence' (did you mean 'attendance'?)",
        ),
        (("offset: 1", "offset: -2"), "actions.yaml:10:15: 'offset' must be 0 or more, not -2"),
        (('at: "09:00"', 'at: "25:00"'), "actions.yaml:12:11: bad time of day '25:00'"),
        (
            ("timezone: Europe/Amsterdam", "timezone: Europe/Amsterdm"),
            "actions.yaml:2:11: unknown time zone 'Europe/Amsterdm'",
        ),
        (
            ("after: course_end", "after: course_start"),
            "actions.yaml:9:14: unknown anchor 'course_start' (course_end, requirements_met, participant_added)",
        ),
        (
            ("email_template: certificate", "email_template: missing"),
            "actions.yaml:7:21: template 'missing' not found",
        ),
        (
            ("attendance: yes", "attendance: maybe"),
            "actions.yaml:15:19: unknown attendance 'maybe' (yes, no, not_met)",
        ),
        (
            ("    conditions:", "    expire_after: 3 fortnights\n    conditions:"),
            "actions.yaml:13:19: unknown unit 'fortnights' (hours, days, weeks, months, years)",
        ),
        (
            ('name: "Certificate [Opleiding:Naam]"', 'name: "Certificate [Opleiding:Naamm]"'),
            "unknown merge field [Opleiding:Naamm]",
        ),
    ],
)
def test_each_mistake_is_located(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    problems = problems_of(tmp_path, GOOD.replace(*change))
    assert any(expected in p for p in problems), problems


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    text = GOOD.replace("unit: days", "unit: fortnights").replace("offset: 1", "offset: -1")
    assert len(problems_of(tmp_path, text)) == 2


def test_duplicate_action_ids(tmp_path: Path) -> None:
    action = GOOD.split("actions:\n", 1)[1]
    problems = problems_of(tmp_path, GOOD + action)
    assert any("duplicate action id 'certificate'" in p for p in problems), problems


def test_duplicate_yaml_keys(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path, GOOD.replace("      offset: 1\n", "      offset: 1\n      offset: 2\n")
    )
    assert any("actions.yaml:11:7: duplicate key 'offset'" in p for p in problems), problems


@pytest.mark.parametrize(
    ("attendance", "passing", "message"),
    [
        ("no", "no", "needs a condition 'yes'"),
        ("yes", "not_met", "cannot be combined with a 'not_met'"),
    ],
)
def test_requirements_met_anchor_rules(
    tmp_path: Path, attendance: str, passing: str, message: str
) -> None:
    text = GOOD.replace("after: course_end", "after: requirements_met")
    text = text.replace("attendance: yes", f"attendance: {attendance}").replace(
        "pass: no", f"pass: {passing}"
    )
    problems = problems_of(tmp_path, text)
    assert any(message in p for p in problems), problems


@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [
        ("60 days", 60, "days"),
        ("2 weeks", 2, "weeks"),
        ("1 month", 1, "months"),
        ("36 hours", 36, "hours"),
        ("1 year", 1, "years"),
        ("2 Years", 2, "years"),
    ],
)
def test_durations(text: str, amount: int, unit: str) -> None:
    duration = parse_duration(text)
    assert (duration.amount, duration.unit) == (amount, unit)


@pytest.mark.parametrize("text", ["60", "days", "-1 days", "1.5 days", "soon"])
def test_nonsense_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_since_is_local_midnight_in_the_configured_zone(tmp_path: Path) -> None:
    config = make_config(tmp_path, since="2026-12-01")
    since = config.since_moment(config.actions[0])
    assert since is not None and since.isoformat() == "2026-12-01T00:00:00+01:00"


def test_missing_file_has_a_hint(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as failure:
        load(tmp_path / "nope.yaml")
    assert failure.value.hint and "--actions" in failure.value.hint


SUMMER = "2026-03-29T09:00:00+02:00"  # summer time began that night at 02:00 in Amsterdam


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2026-03-29", "2026-03-29T00:00:00+01:00"),
        ('"2026-03-29"', "2026-03-29T00:00:00+01:00"),
        ("29-03-2026", "2026-03-29T00:00:00+01:00"),
        ("2026-03-29 09:00", SUMMER),
        ('"2026-03-29 09:00"', SUMMER),
        ("2026-03-29T09:00", SUMMER),
        ("2026-03-29 09:00:00", SUMMER),  # unquoted with seconds: a YAML timestamp
        ('"2026-03-29 09:00:00"', SUMMER),
        ("29-03-2026 09:00", SUMMER),
        ('"29-03-2026 09:00"', SUMMER),
        ("2026-03-28 09:00", "2026-03-28T09:00:00+01:00"),
        ("2026-03-29 02:30", "2026-03-29T03:00:00+02:00"),  # in the gap: the minute after
        ("2026-10-25 02:30", "2026-10-25T02:30:00+02:00"),  # twice that night: the first
        ("2026-03-29T09:00Z", "2026-03-29T09:00:00+00:00"),
        ("2026-03-29 09:00:00Z", "2026-03-29T09:00:00+00:00"),
        ('"2026-03-29 09:00Z"', "2026-03-29T09:00:00+00:00"),
        ("2026-03-29T09:00:00+01:00", "2026-03-29T09:00:00+01:00"),
        ('"2026-03-29 09:00+01:00"', "2026-03-29T09:00:00+01:00"),
    ],
)
def test_since_in_every_form_is_local_in_the_configured_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, written: str, expected: str
) -> None:
    monkeypatch.setenv("TZ", "America/New_York")  # the machine's zone never decides
    config = make_config(tmp_path, since=written)
    since = config.since_moment(config.actions[0])
    assert since is not None and since.isoformat() == expected


def test_a_since_without_seconds_covers_what_is_due_at_that_minute(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    """Read as UTC, `since: 2026-11-19 09:00` made a delivery due at 09:00 that day history."""
    directory = export(
        courses="course_id,name,course_type,status,end\nC1,X,FOUR,final,2026-11-18 17:00\n"
    )
    db = tmp_path / "c.db"
    import_into(db, directory)
    for since in ("2026-11-19 09:00", '"2026-11-19 09:00"', "2026-11-19 09:00:00"):
        config = make_config(tmp_path, since=since, offset=1, at="09:00")
        store = Store.open_readonly(db)
        try:
            plan = make_plan(store, config, moment("2026-11-19 09:00"))
        finally:
            store.close()
        assert {d.participant.person_id: d.outcome for d in plan.decisions} == {
            "P1": "send",
            "P2": "waiting",
        }, since


@pytest.mark.parametrize("locale", ["nl", "en", "de", "en-GB", "nl_BE", " fr "])
def test_known_locales(tmp_path: Path, locale: str) -> None:
    assert problems_of(tmp_path, GOOD.replace("sender:", f"locale: '{locale}'\nsender:")) == []


@pytest.mark.parametrize("locale", ["xx", "Nederlands", "nl-XX-YY-ZZ", ""])
def test_an_unknown_locale_is_located(tmp_path: Path, locale: str) -> None:
    problems = located_in(tmp_path, GOOD.replace("sender:", f"locale: '{locale}'\nsender:"))
    assert problems == [
        f"actions.yaml:3:9: unknown locale '{locale}' (a language code such as nl, en or de)"
    ]


@pytest.mark.parametrize(("written", "expected"), [("9:00", "09:00"), ("17:30", "17:30")])
def test_an_unquoted_time_is_that_time(tmp_path: Path, written: str, expected: str) -> None:
    assert problems_of(tmp_path, GOOD.replace('at: "09:00"', f"at: {written}")) == []
    assert load(tmp_path / "actions.yaml").actions[0].timing.at == expected


def test_a_fractional_offset_is_not_a_whole_number(tmp_path: Path) -> None:
    for offset in ("1.5", "-1.5"):
        problems = located_in(tmp_path, GOOD.replace("offset: 1", f"offset: {offset}"))
        assert problems == [
            f"actions.yaml:10:15: 'offset' must be a whole number, not {float(offset)!r}"
        ]


MERGING = """version: 1
timezone: Europe/Amsterdam
sender: "Office <office@example.org>"
common: &common
  email_template: certificate
  timing: {after: course_end, offset: 1, unit: days, at: "09:00"}
actions:
  - <<: *common
    id: certificate
    name: "Certificate"
  - <<: *common
    id: late
    name: "Late"
    timing: {after: course_end, offset: 2, unit: weekz}
"""


def test_merge_keys_share_settings_between_actions(tmp_path: Path) -> None:
    problems = located_in(tmp_path, MERGING)
    # the anchor's own key is unknown, the written timing replaces the shared one
    assert problems == [
        "actions.yaml:4:1: unknown key 'common' (known keys: version, timezone, templates_dir, "
        "sender, attendance_basis, locale, smtp, delivery, retention, import, certificates, "
        "actions)",
        "actions.yaml:14:50: unknown unit 'weekz' (hours, days, weeks, months, years); "
        "did you mean 'weeks'?",
    ]
    # under a key starting with x-, as in Compose files, the shared settings are passed over
    text = MERGING.replace("common: &common", "x-common: &common").replace("weekz", "weeks")
    assert problems_of(tmp_path, text) == []


def test_an_unreadable_file_is_a_located_problem(tmp_path: Path) -> None:
    path = tmp_path / "actions.yaml"
    path.write_bytes(GOOD.encode() + b"# caf\xe9\n")
    with pytest.raises(ConfigError) as failure:
        load(path)
    assert failure.value.problems == [f"{path}:17: not UTF-8 text (byte 0xe9)"]
    with pytest.raises(CertifyError, match=r"is a folder; --actions takes the actions\.yaml file"):
        load(tmp_path)  # a folder


@pytest.mark.parametrize(
    ("sender", "said"),
    [
        (
            "'Opleidingen Fryslân, Zoë & Co <certificaten@example.nl>'",
            "a name with a comma goes in double quotes: "
            "'\"Opleidingen Fryslân, Zoë & Co\" <certificaten@example.nl>'",
        ),
        ("'office@example.org, boss@example.org'", "reads as 2 addresses"),
        ("'Office'", "the sender is one address, Name <address>"),
    ],
)
def test_a_sender_that_is_not_one_address_is_located(
    tmp_path: Path, sender: str, said: str
) -> None:
    """Otherwise every delivery of every action would fail on it, one by one."""
    text = GOOD.replace('sender: "Office <office@example.org>"', f"sender: {sender}")
    [problem] = problems_of(tmp_path, text)
    assert problem.startswith(f"{tmp_path / 'actions.yaml'}:3:9: ")
    assert said in problem


def test_a_sender_with_its_name_in_quotes_is_one_address(tmp_path: Path) -> None:
    quoted = """'"Opleidingen Fryslân, Zoë & Co" <certificaten@example.nl>'"""
    text = GOOD.replace('sender: "Office <office@example.org>"', f"sender: {quoted}")
    assert problems_of(tmp_path, text) == []


@pytest.mark.parametrize(
    ("written", "amount", "unit"),
    [
        ("1 year", 1, "years"),
        ("6 months", 6, "months"),
        ("2 years", 2, "years"),
        ("30 days", 30, "days"),
        ("4 weeks", 4, "weeks"),
        ("{amount: 18, unit: months}", 18, "months"),
    ],
)
def test_validity_is_an_amount_of_calendar_units(
    tmp_path: Path, written: str, amount: int, unit: str
) -> None:
    path = tmp_path / "actions.yaml"
    path.write_text(GOOD.replace("    conditions:", f"    validity: {written}\n    conditions:"))
    action = load(path).actions[0]
    assert action.validity is not None
    assert (action.validity.amount, action.validity.unit) == (amount, unit)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("36 hours", "unknown unit 'hours' (days, weeks, months, years)"),
        ("1 fortnight", "unknown unit 'fortnight' (days, weeks, months, years)"),
        ("forever", "cannot read 'forever' as a duration"),
    ],
)
def test_validity_with_an_unknown_unit_is_located(
    tmp_path: Path, written: str, expected: str
) -> None:
    problems = problems_of(
        tmp_path, GOOD.replace("    conditions:", f"    validity: {written}\n    conditions:")
    )
    assert any("actions.yaml:13:15: " in p and expected in p for p in problems), problems


def test_the_flat_world_actions_with_validity_load() -> None:
    floors = Path("/work/shared/floors/flat_world/actions.yaml")
    if not floors.exists():
        pytest.skip("the shared floors are not on this machine")
    action = load(floors).actions[0]
    assert action.validity is not None
    assert str(action.validity) == "1 year"
    assert rules.valid_until(date(2028, 2, 29), action.validity) == date(2029, 2, 28)
