"""`certify init`: the starter kit an installed certify writes, and what it lets one do."""

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from certify.config import json_schema
from certify.starter.kit import certify_command, crontab_line, kit_files
from tests.helpers import DEMO_NOW, ROOT, SWITCH_ON, cli


@pytest.mark.parametrize("locale", ["nl", "en"])
def test_init_writes_a_kit_that_validates(tmp_path: Path, locale: str) -> None:
    folder = tmp_path / "office"  # created when missing
    result = cli("init", str(folder), "--locale", locale, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for name in ("actions.yaml", "actions.schema.json", "crontab.example", ".gitignore"):
        assert (folder / name).is_file(), name
    assert (folder / "exports").is_dir() and not any((folder / "exports").iterdir())
    assert (folder / "templates" / "logo.png").is_file()
    assert "certify.db*" in (folder / ".gitignore").read_text().splitlines()
    checked = cli("validate", cwd=folder)
    assert checked.returncode == 0, checked.stderr
    assert "actions.yaml: ok" in checked.stdout


def test_an_english_kit_has_english_defaults_and_dutch_variants(tmp_path: Path) -> None:
    assert cli("init", str(tmp_path), "--locale", "en").returncode == 0
    templates = tmp_path / "templates"
    assert "Dear" in (templates / "certificate.txt.j2").read_text()
    assert "Beste" in (templates / "certificate.nl.txt.j2").read_text()
    assert 'title: "Certificate"' in (templates / "certificate.pdf.yaml").read_text()
    assert 'title: "Certificaat"' in (templates / "certificate.nl.pdf.yaml").read_text()
    assert not list(templates.glob("*.en.*"))
    assert "locale: en" in (tmp_path / "actions.yaml").read_text()


def test_a_dutch_kit_has_dutch_defaults_and_english_variants(tmp_path: Path) -> None:
    assert cli("init", str(tmp_path)).returncode == 0
    templates = tmp_path / "templates"
    assert "Beste" in (templates / "certificate.txt.j2").read_text()
    assert "Dear" in (templates / "certificate.en.txt.j2").read_text()
    assert "locale: nl" in (tmp_path / "actions.yaml").read_text()


def test_init_overwrites_nothing_without_force(tmp_path: Path) -> None:
    (tmp_path / "actions.yaml").write_text("# mine\n")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "certificate.txt.j2").write_text("mine\n")
    result = cli("init", str(tmp_path))
    assert result.returncode == 1
    assert "2 of the starter kit's files exist already; nothing was written" in result.stderr
    assert f"{tmp_path / 'actions.yaml'}" in result.stderr
    assert f"{tmp_path / 'templates' / 'certificate.txt.j2'}" in result.stderr
    assert "--force" in result.stderr
    assert (tmp_path / "actions.yaml").read_text() == "# mine\n"
    assert sorted(p.name for p in tmp_path.rglob("*")) == [
        "actions.yaml",
        "certificate.txt.j2",
        "templates",
    ]
    forced = cli("init", str(tmp_path), "--force")
    assert forced.returncode == 0, forced.stderr
    assert "version: 1" in (tmp_path / "actions.yaml").read_text()


def test_init_into_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "kit").write_text("")
    result = cli("init", str(tmp_path / "kit"))
    assert result.returncode == 1
    assert "is a file, not a folder" in result.stderr


def test_the_crontab_line_calls_certify_by_absolute_paths(tmp_path: Path) -> None:
    assert cli("init", "office", cwd=tmp_path).returncode == 0
    lines = (tmp_path / "office" / "crontab.example").read_text().splitlines()
    active = [line for line in lines if line and not line.startswith("#")]
    assert len(active) == 1
    schedule, command = active[0][:12], active[0][12:].split()
    assert schedule == "*/15 * * * *"
    assert Path(command[0]).is_absolute()
    assert command[1:4] == ["run-due", "-q", "--db"]
    assert command[4] == str((tmp_path / "office" / "certify.db").resolve())
    assert command[5:] == ["--actions", str((tmp_path / "office" / "actions.yaml").resolve())]


def test_certify_command_is_the_console_script_else_the_interpreter(tmp_path: Path) -> None:
    script = tmp_path / "bin" / "certify"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    link = tmp_path / "certify-link"
    link.symlink_to(script)
    assert certify_command(str(link), sys.executable) == str(script)
    # python -m certify: argv[0] is __main__.py; the console script beside python, if any
    python = tmp_path / "bin" / "python"
    assert certify_command("/x/certify/__main__.py", str(python)) == str(script)
    assert certify_command("/x/certify/__main__.py", "/nowhere/python") == (
        "/nowhere/python -m certify"
    )
    # a command found on PATH is written as its absolute place
    os.environ["PATH"] = f"{script.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    try:
        assert certify_command("certify", "/nowhere/python") == str(script)
    finally:
        os.environ["PATH"] = os.environ["PATH"].split(os.pathsep, 1)[1]


def test_paths_with_spaces_are_quoted_for_the_shell(tmp_path: Path) -> None:
    line = crontab_line(tmp_path / "my office", "/opt/certify/bin/certify")
    assert f"--db '{(tmp_path / 'my office' / 'certify.db').resolve()}'" in line


def test_the_kit_schema_is_what_certify_schema_prints(tmp_path: Path) -> None:
    by_path = {item.path: item.content for item in kit_files(tmp_path, "nl", "certify")}
    assert json.loads(by_path["actions.schema.json"]) == json_schema()


def test_the_kit_templates_are_the_shipped_templates() -> None:
    kit = ROOT / "certify" / "starter" / "templates"
    shipped = {p.name: p.read_bytes() for p in (ROOT / "templates").iterdir()}
    assert {p.name: p.read_bytes() for p in kit.iterdir()} == shipped, (
        "the starter kit carries templates/: copy templates/* to certify/starter/templates/"
    )


def test_from_init_to_a_message(tmp_path: Path) -> None:
    """The path of the README's quick start: init, validate, import, run-due."""
    assert cli("init", cwd=tmp_path).returncode == 0
    imported = cli("import", str(ROOT / "examples"), "--now", "2026-11-01T08:00", cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    for now in (SWITCH_ON, DEMO_NOW):
        ran = cli("run-due", "--now", now, "--transport", "dir", "--out", "outbox", cwd=tmp_path)
        assert ran.returncode == 0, ran.stderr
    assert list((tmp_path / "outbox").glob("*.eml"))


@pytest.mark.parametrize("locale", ["nl", "en"])
def test_the_kits_import_section_validates_once_uncommented(tmp_path: Path, locale: str) -> None:
    assert cli("init", str(tmp_path), "--locale", locale).returncode == 0
    lines, inside = [], False
    for line in (tmp_path / "actions.yaml").read_text().splitlines():
        inside = line.startswith("# import:") or (inside and line.startswith("#"))
        lines.append(line[2:] if inside else line)
    (tmp_path / "actions.yaml").write_text("\n".join(lines) + "\n")
    assert "\nimport:\n" in (tmp_path / "actions.yaml").read_text()
    checked = cli("validate", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize("locale", ["nl", "en"])
def test_the_readme_s_renewal_reminder_works_in_the_kit_as_written(
    tmp_path: Path, locale: str
) -> None:
    """The README's reminder names `refresher_invitation`: the kit ships it, in both
    languages, saying which certificate lapses and when."""
    readme = (ROOT / "README.md").read_text()
    snippet = readme.split("**Renewal reminders.**")[1].split("```yaml\n")[1].split("```")[0]
    assert "email_template: refresher_invitation" in snippet
    assert cli("init", str(tmp_path), "--locale", locale).returncode == 0
    actions = tmp_path / "actions.yaml"
    text = actions.read_text()
    actions.write_text(text.replace("\ncertificates:", "\n" + snippet + "\ncertificates:", 1))
    checked = cli("validate", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    imported = cli("import", str(ROOT / "examples"), "--now", "2026-11-01T08:00", cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    for now in (SWITCH_ON, DEMO_NOW):
        cli("run-due", "--now", now, "--transport", "dir", "--out", "outbox", cwd=tmp_path)
    preview = cli("preview", "bhv-refresher", "--course", "VCA-2611", "--person", "P001",
                  "--now", "2027-10-01T09:00", cwd=tmp_path)  # fmt: skip
    assert preview.returncode == 0, preview.stderr
    # P001's language is Dutch, whatever the kit's default
    assert "12 november 2027" in preview.stdout and "Beste Jan" in preview.stdout
