"""Fixtures: the standard export, the shipped examples, and worlds built from them."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers import (
    DEMO_NOW,
    ROOT,
    SWITCH_ON,
    TO_OUTBOX,
    cli,
    import_into,
    make_config,
    write_export,
)


@pytest.fixture(autouse=True)
def in_english(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests read English unless they ask for Dutch (the shipped actions.yaml says `nl`).

    A test that loads such a file in this process leaves no language behind for the next.
    """
    from certify import locale

    monkeypatch.setenv(locale.ENVIRONMENT, "en")
    yield
    locale.choose(None)
    locale.configure(None)
    locale.fall_back_to(None)


@pytest.fixture
def export(tmp_path: Path) -> Callable[..., Path]:
    """Write the standard export, with files replaced or added by keyword, to a folder."""

    def make(folder: str = "export", **files: str | None) -> Path:
        return write_export(tmp_path / folder, **files)

    return make


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    """A copy of the shipped examples, actions.yaml and templates, to run the CLI in."""
    for name in ("examples", "templates"):
        shutil.copytree(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / "actions.yaml", tmp_path / "actions.yaml")
    return tmp_path


@pytest.fixture
def switched_on(examples: Path) -> Path:
    """The shipped examples, imported and switched on: nothing sent yet."""
    for step in (
        ("import", "examples", "--now", "2026-11-01T08:00"),
        ("run-due", "--now", SWITCH_ON, *TO_OUTBOX),
    ):
        assert cli(*step, cwd=examples).returncode == 0, step
    return examples


@pytest.fixture
def demo_sent(switched_on: Path) -> Path:
    """The shipped examples after the demo's run: what was due on 20 November is sent."""
    assert cli("run-due", "--now", DEMO_NOW, *TO_OUTBOX, cwd=switched_on).returncode == 0
    return switched_on


@pytest.fixture
def two_due(tmp_path: Path, export: Callable[..., Path]) -> Path:
    """The standard export with `certificate` for both participants (conditions not checked)."""
    import_into(tmp_path / "certify.db", export())
    make_config(tmp_path, attendance="no", passing="no")
    return tmp_path
