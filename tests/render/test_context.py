"""The template context: one description, the sample, the check and real deliveries agree."""

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from certify.config import load
from certify.decide.plan import make_plan
from certify.inspect.validate import validate_all
from certify.render.context import OPEN, SCHEMA, DeliveryContexts, DeliveryRef, sample_context
from certify.render.templates import Templates
from certify.store.database import Store
from tests.helpers import import_into, make_config, moment, write

NOW = datetime(2026, 11, 6, 9, 0, tzinfo=UTC)


def differences(value: Any, schema: Any, path: str = "") -> list[str]:
    """Where `value` has keys the schema lacks, or lacks keys the schema has."""
    if schema is OPEN:
        return [] if isinstance(value, dict) else [f"{path}: expected an open mapping"]
    if isinstance(schema, dict):
        if value is None:
            return []  # an optional mapping, such as a part's result before it is registered
        if not isinstance(value, dict):
            return [f"{path}: expected a mapping, got {value!r}"]
        found = [f"{path}.{key}: not in the schema" for key in value.keys() - schema.keys()]
        found += [f"{path}.{key}: missing" for key in schema.keys() - value.keys()]
        for key in value.keys() & schema.keys():
            found += differences(value[key], schema[key], f"{path}.{key}")
        return found
    if isinstance(schema, list):
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        return [problem for item in value for problem in differences(item, schema[0], path)]
    return [f"{path}: expected a value, got a mapping"] if isinstance(value, dict) else []


def test_the_sample_has_exactly_the_schema() -> None:
    assert differences(sample_context(NOW), SCHEMA) == []
    assert sample_context(NOW)["now"] == NOW


def test_a_real_delivery_has_exactly_the_schema(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = tmp_path / "c.db"
    import_into(
        db,
        export(
            persons="person_id,first_name,last_name,email,employer\nP1,Bram,Berg,b@example.org,Gemeente\nP2,Zoë,Öztürk,z@example.org,\n"
        ),
    )
    config = make_config(tmp_path)
    with Store.open_readonly(db) as store:
        plan = make_plan(store, config, moment("2026-11-06 09:00"))
        reader = DeliveryContexts(store.conn, config)
        contexts = [
            reader.read(decision, DeliveryRef(1, "2026-000001-7", "<m@x>"), NOW)
            for decision in plan.decisions
        ]
    assert len(contexts) == 2
    for context in contexts:
        assert differences(context, SCHEMA) == []
    bram = next(c for c in contexts if c["person"]["id"] == "P1")
    assert bram["person"]["extra"] == {"employer": "Gemeente"}
    # a part with both registrations shows them; a part without a result shows None
    exam = next(part for part in bram["parts"] if part["id"] == "C1-4")
    assert exam["result"]["passed"] is True and exam["attendance"]["present"] is False
    assert next(part for part in bram["parts"] if part["id"] == "C1-1")["result"] is None


def test_a_batch_read_ahead_gives_the_same_contexts_as_reading_one_by_one(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = tmp_path / "c.db"
    import_into(
        db,
        export(
            persons="person_id,first_name,last_name,email,employer\nP1,Bram,Berg,b@example.org,Gemeente\nP2,Zoë,Öztürk,z@example.org,\n",
            enrollments="course_id,person_id,enrolled_at,status,order\nC1,P1,2026-10-01,enrolled,A-1\nC1,P2,2026-10-01,,\n",
        ),
    )
    config = make_config(tmp_path)
    ref = DeliveryRef(1, "2026-000001-7", "<m@x>")
    with Store.open_readonly(db) as store:
        decisions = make_plan(store, config, moment("2026-11-06 09:00")).decisions
        one_by_one = [DeliveryContexts(store.conn, config).read(d, ref, NOW) for d in decisions]
        reader = DeliveryContexts(store.conn, config)
        reader.prefetch(decisions)
        ahead = [reader.read(d, ref, NOW) for d in decisions]
        # one not read ahead is read by itself
        reader.prefetch(decisions[:1])
        partly = [reader.read(d, ref, NOW) for d in decisions]
    assert len(decisions) == 2
    assert ahead == one_by_one == partly
    enrollments = {c["person"]["id"]: c["enrollment"] for c in ahead}
    assert (enrollments["P1"]["status"], enrollments["P1"]["extra"]) == (
        "enrolled",
        {"order": "A-1"},
    )
    assert (enrollments["P2"]["status"], enrollments["P2"]["extra"]) == ("enrolled", {"order": ""})


def test_any_export_column_is_valid_in_a_template(tmp_path: Path) -> None:
    make_config(tmp_path)
    write(
        tmp_path / "templates",
        "certificate.txt.j2",
        """
        ---
        subject: "{{ person.extra.employer }}"
        ---
        {{ course.extra.room }} {{ enrollment.extra.order }}
        {% for part in parts %}{{ part.extra.trainer }}{% endfor %}
        """,
    )
    assert validate_all(tmp_path / "actions.yaml") == []


def test_an_unknown_variable_is_still_found_next_to_open_mappings(tmp_path: Path) -> None:
    make_config(tmp_path)
    write(
        tmp_path / "templates",
        "certificate.txt.j2",
        "---\nsubject: x\n---\n{{ person.extra.employer }} {{ person.employer }}\n",
    )
    problems = validate_all(tmp_path / "actions.yaml")
    assert len(problems) == 1 and "unknown variable 'person.employer'" in problems[0]


@pytest.mark.parametrize(
    ("body", "needs"),
    [
        ("Dear {{ person.first_name }}", set()),
        ("{% for part in parts %}{{ part.name }}{% endfor %}", {"parts"}),
        ("{{ requirements.met_at }}", {"met_at"}),
        ("{{ requirements['met_at'] }}", {"met_at"}),
        ("{% set key = 'met' ~ '_at' %}{{ requirements[key] }}", {"parts", "met_at"}),
    ],
)
def test_a_delivery_reads_only_what_its_templates_use(
    tmp_path: Path, body: str, needs: set[str]
) -> None:
    make_config(tmp_path)
    write(tmp_path / "templates", "certificate.txt.j2", f"---\nsubject: x\n---\n{body}\n")
    templates = Templates(load(tmp_path / "actions.yaml"))
    assert templates.problems == [] and templates.needs == needs
