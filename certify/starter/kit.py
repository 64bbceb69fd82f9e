"""What `certify init` writes into a folder, and writing it without overwriting anything."""

from __future__ import annotations

import json
import os
import shlex
import shutil
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Literal

from certify.errors import CertifyError
from certify.locale import _, ngettext

Locale = Literal["nl", "en"]
LOCALES: tuple[Locale, ...] = ("nl", "en")
# the kit's templates hold Dutch as the default and English as NAME.en.*; an English kit
# turns that round, so a person without a language gets English
_OTHER = {"nl": "en", "en": "nl"}


@dataclass(frozen=True)
class KitFile:
    """One file of the kit: where it goes in the folder, and its bytes."""

    path: str  # relative, with /
    content: bytes


def _template_name(name: str, locale: Locale) -> str:
    """The kit's file name of a template in a kit of `locale` (Dutch is the stored default)."""
    if locale == "nl":
        return name
    stem, dot, rest = name.partition(".")
    if not dot or rest in ("png", "jpg", "jpeg", "svg"):
        return name  # the logo and other images have no language
    lang, dot2, ext = rest.partition(".")
    if dot2 and lang == locale:
        return f"{stem}.{ext}"  # certificate.en.txt.j2 → certificate.txt.j2
    if dot2 and len(lang) == 2:
        return name  # another language than the two swapped
    return f"{stem}.{_OTHER[locale]}.{rest}"  # certificate.txt.j2 → certificate.nl.txt.j2


def _walk(folder: Traversable, prefix: str = "") -> list[tuple[str, bytes]]:
    found: list[tuple[str, bytes]] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.startswith(("_", ".")):
            continue
        if entry.is_dir():
            found.extend(_walk(entry, f"{prefix}{entry.name}/"))
        else:
            found.append((f"{prefix}{entry.name}", entry.read_bytes()))
    return found


def certify_command(argv0: str, executable: str) -> str:
    """How cron should call this certify: the absolute path of the running console script,
    else this interpreter with `-m certify` (cron's PATH knows no virtual environment)."""
    found = argv0 if os.sep in argv0 else shutil.which(argv0)
    if found:
        script = Path(found).resolve()
        if script.is_file() and os.access(script, os.X_OK) and script.suffix != ".py":
            return shlex.quote(str(script))
    beside = Path(executable).parent / "certify"
    if beside.is_file() and os.access(beside, os.X_OK):
        return shlex.quote(str(beside.absolute()))
    return f"{shlex.quote(str(Path(executable).absolute()))} -m certify"


def crontab_line(folder: Path, command: str) -> str:
    """The crontab of a folder made by init: run-due every 15 minutes, quiet unless
    something happened, so cron mails only news."""
    home = folder.resolve()
    db = shlex.quote(str(home / "certify.db"))
    actions = shlex.quote(str(home / "actions.yaml"))
    exports = shlex.quote(str(home / "exports"))
    common = f"--db {db} --actions {actions}"
    return (
        "# certify from cron: install with `crontab -e` and paste the line below.\n"
        "# -q: cron mails you (MAILTO) only when something was sent, failed or needs you.\n"
        "# Paths are absolute: cron starts in your home folder, without a virtual environment.\n"
        "# Set delivery and smtp in actions.yaml first: without a transport nothing is sent.\n"
        f"*/15 * * * *  {command} run-due -q {common}\n"
        "\n"
        "# Or, when the training system writes its exports into exports/, import them first:\n"
        f"# */15 * * * *  {command} import {exports} --snapshot -q {common}"
        f" && {command} run-due -q {common}\n"
    )


def kit_files(folder: Path, locale: Locale, command: str) -> list[KitFile]:
    """Every file init writes into `folder`, for a kit in `locale`."""
    from certify.config import json_schema

    root = files("certify.starter")
    kit = [KitFile("actions.yaml", root.joinpath(locale, "actions.yaml").read_bytes())]
    kit += [
        KitFile(f"templates/{_template_name(name, locale)}", content)
        for name, content in _walk(root.joinpath("templates"))
    ]
    schema = json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
    kit.append(KitFile("actions.schema.json", schema.encode()))
    kit.append(KitFile("crontab.example", crontab_line(folder, command).encode()))
    kit.append(KitFile(".gitignore", b"# the database and its journal files\ncertify.db*\n"))
    return kit


def write_kit(folder: Path, locale: Locale, command: str, *, force: bool = False) -> list[Path]:
    """Write the kit into `folder` (created if missing) and an empty exports/; without
    `force`, any file already there stops it before anything is written."""
    if folder.exists() and not folder.is_dir():
        raise CertifyError(
            _("{folder} is a file, not a folder").format(folder=folder),
            hint=_("name a folder for the kit"),
        )
    kit = kit_files(folder, locale, command)
    existing = [folder / item.path for item in kit if (folder / item.path).exists()]
    if existing and not force:
        raise CertifyError(
            ngettext(
                "{count} of the starter kit's files exists already; nothing was written:",
                "{count} of the starter kit's files exist already; nothing was written:",
                len(existing),
            ).format(count=len(existing)),
            hint=_("--force overwrites them; or init into an empty folder"),
            details=[str(path) for path in existing],
        )
    written: list[Path] = []
    for item in kit:
        target = folder / item.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(item.content)
        written.append(target)
    (folder / "exports").mkdir(parents=True, exist_ok=True)
    return written


__all__ = ["LOCALES", "KitFile", "certify_command", "crontab_line", "kit_files", "write_kit"]
