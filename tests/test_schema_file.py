"""The shipped JSON Schema file cannot drift from `certify schema`."""

import json

from certify.config import json_schema
from tests.helpers import ROOT


def test_the_shipped_schema_file_is_what_certify_schema_prints() -> None:
    shipped = json.loads((ROOT / "actions.schema.json").read_text())
    assert shipped == json_schema(), "run: certify schema > actions.schema.json"
    first_lines = (ROOT / "actions.yaml").read_text().splitlines()[:3]
    assert "# yaml-language-server: $schema=actions.schema.json" in first_lines
