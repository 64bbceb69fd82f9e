"""Attacks on a deployment through its data and settings, each one reproduced (SPEC 9.7)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from certify.config import Config
from certify.deliver.interruption import recover
from certify.deliver.log import DeliveryLog
from certify.deliver.outbox import DirTransport, safe_file_name
from certify.deliver.runner import Runner
from certify.render.message import Mail
from certify.render.templates import Templates
from certify.store.database import Store
from tests.helpers import import_into, make_config, moment

# P1's attendance and result, for any person id: 3 of 4 present and passed meets C1.
_MET = (
    "C1-1,{p},yes,2026-11-02 17:00\nC1-2,{p},yes,2026-11-03 17:00\nC1-3,{p},yes,2026-11-04 17:00\n"
)


def _export_of(export: Callable[..., Path], ids: list[str], names: list[str] | None = None) -> Path:
    names = names or [f"Name{n}" for n in range(len(ids))]
    persons = "person_id,first_name,last_name,email\n" + "".join(
        f'"{i}","{name}",X,p{n}@example.org\n'
        for n, (i, name) in enumerate(zip(ids, names, strict=True))
    )
    enrollments = "course_id,person_id,enrolled_at\n" + "".join(
        f'C1,"{i}",2026-10-01\n' for i in ids
    )
    attendance = "part_id,person_id,present,registered_at\n" + "".join(
        _MET.format(p=f'"{i}"') for i in ids
    )
    results = "part_id,person_id,passed,registered_at\n" + "".join(
        f'C1-4,"{i}",yes,2026-11-05 18:00\n' for i in ids
    )
    return export(persons=persons, enrollments=enrollments, attendance=attendance, results=results)


def _run_dir(db: Path, tmp_path: Path, out: Path, config: Config | None = None) -> dict[str, str]:
    config = config or make_config(tmp_path)
    store = Store.open(db)
    try:
        Runner(store, config, Templates(config), moment("2026-11-06 09:00")).run(
            config.actions, DirTransport(out)
        )
    finally:
        store.close()
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT person_id, state FROM deliveries").fetchall())


def test_dir_transport_never_lets_two_deliveries_share_a_file(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    ids = ["a/b", "a_b", "P1", "p1", "ü" * 90, "ü" * 89 + "é"]
    db = tmp_path / "c.db"
    import_into(db, _export_of(export, ids))
    out = tmp_path / "out"
    assert _run_dir(db, tmp_path, out) == dict.fromkeys(ids, "sent")
    files = sorted(out.glob("*.eml"))
    assert len({path.name.casefold() for path in files}) == len(ids)
    recipients = {
        message_from_bytes(path.read_bytes(), policy=policy.default)["To"].addresses[0].addr_spec
        for path in files
    }
    assert recipients == {f"p{n}@example.org" for n in range(len(ids))}
    names = {safe_file_name("certificate", "C1", i) for i in ids}
    assert names == {path.name for path in files}
    assert all(len(name.encode()) < 255 for name in names)


def test_dir_transport_never_overwrites_a_file_already_there(tmp_path: Path) -> None:
    from certify.deliver.outbox import _place

    out = tmp_path / "out"
    out.mkdir()
    target = out / "certificate--C1--P1.eml"
    target.write_text("first")
    temporary = out / ".tmp"
    temporary.write_text("second")
    placed = _place(temporary, target)
    assert target.read_text() == "first"
    assert placed.name == "certificate--C1--P1~2.eml" and placed.read_text() == "second"


def test_recovery_looks_for_the_exact_file_of_the_delivery(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = tmp_path / "c.db"
    import_into(db, _export_of(export, ["a/b", "a_b"]))
    out = tmp_path / "out"
    out.mkdir()
    # a killed run claimed both and wrote only a/b's file
    (out / safe_file_name("certificate", "C1", "a/b")).write_text("written")
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO deliveries (action, course_id, person_id, state, created_at, updated_at) "
            "VALUES ('certificate','C1','a/b','claimed','x','x'), "
            "('certificate','C1','a_b','claimed','x','x')"
        )
    config = make_config(tmp_path)
    store = Store.open(db)
    try:
        runner = Runner(store, config, Templates(config), moment("2026-11-06 09:00"))
        recover(runner.deliveries, DirTransport(out))
    finally:
        store.close()
    with sqlite3.connect(db) as conn:
        assert dict(conn.execute("SELECT person_id, state FROM deliveries")) == {
            "a/b": "sent",
            "a_b": "pending",
        }


def test_ids_are_limited_in_length_and_hold_no_control_characters(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    from tests.helpers import cli

    folder = export(
        persons="person_id,first_name,last_name,email\n"
        f"{'x' * 300},A,B,a@example.org\n"
        '"P\n9",C,D,c@example.org\n'
        f"{'y' * 100},E,F,e@example.org\n"
    )
    ran = cli("import", str(folder), "--db", str(tmp_path / "c.db"), "--now", "2026-11-01T08:00")
    assert ran.returncode == 1
    persons = folder / "persons.csv"
    assert (
        f"{persons}:2: column 'person_id': an id has at most 100 characters, not 300" in ran.stderr
    )
    assert f"{persons}:3: column 'person_id': an id may not hold control characters" in ran.stderr
    assert f"{persons}:5" not in ran.stderr  # 100 characters are allowed


def test_a_value_beyond_the_csv_field_limit_is_a_located_error(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    from tests.helpers import cli

    folder = export(
        persons='person_id,first_name,last_name,email\nP1,Bram,Berg,bram@example.org\nP2,"Zoë'
        + "z" * (11 * 2**20)
        + ",Öztürk,zoe@example.org\n"
    )
    ran = cli("import", str(folder), "--db", str(tmp_path / "c.db"), "--now", "2026-11-01T08:00")
    assert ran.exception is None and ran.returncode == 1
    assert (
        f"{folder / 'persons.csv'}:3: a value from this line on is larger than 10 MB" in ran.stderr
    )
    assert "Traceback" not in ran.stderr


def test_header_lines_stay_within_998_octets_whatever_a_name_holds() -> None:
    from tests.render.test_message import mail, wire_lines

    for name in ("x" * 2000, "Bram " + "y" * 2000, 'a"b' * 700, "ü" * 2000, "a, " + "b" * 999):
        message = mail(to_name=name)
        assert max(len(line) for line in wire_lines(message.data)) <= 998  # type: ignore[attr-defined]
        shown = message.parsed()["To"].addresses[0]  # type: ignore[attr-defined]
        assert "".join(shown.display_name.split()) == "".join(name.split())
        assert shown.addr_spec == "zoe@example.org"


def test_an_address_built_from_data_must_be_one_address(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = tmp_path / "c.db"
    folder = _export_of(export, ["P1", "P2", "P3"])
    persons = folder / "persons.csv"
    lines = persons.read_text().splitlines()
    bosses = [
        '"boss@example.org, attacker@example.net, Other <z@example.net>"',
        "boss@example.org",
        '""',
    ]
    persons.write_text(
        "\n".join(
            [
                lines[0] + ",boss",
                *(f"{line},{b}" for line, b in zip(lines[1:], bosses, strict=True)),
            ]
        )
        + "\n"
    )
    import_into(db, folder)
    config = make_config(tmp_path)
    template = tmp_path / "templates" / "certificate.txt.j2"
    template.write_text(
        template.read_text().replace("---\n", '---\ncc: "{{ person.extra.boss }}"\n', 1)
    )
    out = tmp_path / "out"
    assert _run_dir(db, tmp_path, out, config) == {"P1": "failed", "P2": "sent", "P3": "sent"}
    with sqlite3.connect(db) as conn:
        (error,) = conn.execute(
            "SELECT last_error FROM deliveries WHERE person_id = 'P1'"
        ).fetchone()
    assert "cc" in error and "reads as 3 addresses" in error
    two = message_from_bytes(
        (out / safe_file_name("certificate", "C1", "P2")).read_bytes(), policy=policy.default
    )
    assert two["Cc"].addresses[0].addr_spec == "boss@example.org"
    three = message_from_bytes(
        (out / safe_file_name("certificate", "C1", "P3")).read_bytes(), policy=policy.default
    )
    assert three["Cc"] is None


def test_a_template_cannot_change_the_data_it_is_given(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = tmp_path / "c.db"
    import_into(db, _export_of(export, ["P1"]))
    config = make_config(tmp_path)
    template = tmp_path / "templates" / "certificate.txt.j2"
    template.write_text(
        template.read_text() + "{{ person.update({'email': 'attacker@example.net'}) }}\n"
    )
    assert _run_dir(db, tmp_path, tmp_path / "out", config) == {"P1": "pending"}
    with sqlite3.connect(db) as conn:
        (error,) = conn.execute("SELECT last_error FROM deliveries").fetchone()
    assert "certificate.txt.j2:5" in error and "update" in error
    assert not list((tmp_path / "out").glob("*.eml"))


def test_files_with_personal_data_are_readable_by_their_owner_only(examples: Path) -> None:
    import contextlib
    import os
    import stat

    from tests.helpers import DEMO_NOW, SWITCH_ON, run_cli

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    previous = os.umask(0o022)  # a common umask: group and others could read
    try:
        for step in (
            ("import", "examples", "--now", "2026-11-01T08:00"),
            ("run-due", "--now", SWITCH_ON, "--transport", "dir", "--out", "mail/outbox"),
            ("run-due", "--now", DEMO_NOW, "--transport", "dir", "--out", "mail/outbox"),
            ("backup", "copies/certify-backup.db"),
            ("report", "--out", "report.html", "--now", "2026-11-20T10:00"),
        ):
            if step[0] == "backup":
                (examples / "copies").mkdir()
            ran = run_cli(*step, cwd=examples)
            assert ran.returncode in (0, 3), (step, ran.stderr)
            if step[0] == "import":
                # a connection that writes opens the -wal and -shm: they take the database's mode
                with contextlib.closing(sqlite3.connect(examples / "certify.db")) as conn:
                    conn.execute("CREATE TABLE scratch (x)")
                    conn.commit()
                    for end in ("wal", "shm"):
                        assert mode(examples / f"certify.db-{end}") == 0o600, end
                    conn.execute("DROP TABLE scratch")
                    conn.commit()
    finally:
        os.umask(previous)
    assert mode(examples / "certify.db") == 0o600
    assert mode(examples / "mail") == 0o700 and mode(examples / "mail" / "outbox") == 0o700
    emls = list((examples / "mail" / "outbox").glob("*.eml"))
    assert emls and all(mode(path) == 0o600 for path in emls)
    assert mode(examples / "copies" / "certify-backup.db") == 0o600
    assert mode(examples / "report.html") == 0o600


def test_a_linked_out_file_is_written_where_the_link_points(
    tmp_path: Path, demo_sent: Path
) -> None:
    import os
    import tempfile

    from tests.helpers import DEMO_NOW, cli

    # another file system where there is one (a rename would fail across it)
    elsewhere = Path(tempfile.mkdtemp(dir="/dev/shm" if Path("/dev/shm").is_dir() else tmp_path))
    try:
        target = elsewhere / "report.html"
        target.write_text("old")
        (demo_sent / "linked.html").symlink_to(target)
        ran = cli("report", "--out", "linked.html", "--now", DEMO_NOW, cwd=demo_sent)
        assert ran.returncode == 0, ran.stderr
        assert (demo_sent / "linked.html").is_symlink()
        assert "<html" in target.read_text()
        (demo_sent / "dangling.html").symlink_to(elsewhere / "gone" / "report.html")
        ran = cli("report", "--out", "dangling.html", "--now", DEMO_NOW, cwd=demo_sent)
        assert ran.returncode == 1
        assert f"dangling.html: is a link to {elsewhere / 'gone' / 'report.html'}" in ran.stderr
        assert "in a folder that does not exist" in ran.stderr
        assert "Invalid cross-device link" not in ran.stderr
    finally:
        for path in sorted(elsewhere.rglob("*"), reverse=True):
            path.unlink()
        os.rmdir(elsewhere)


def test_a_password_in_clear_text_goes_only_to_this_machine(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    from tests.helpers import cli

    import_into(tmp_path / "certify.db", export())
    make_config(tmp_path, attendance="no", passing="no", top="smtp: {timeout: 2}\n")
    common = ("run-due", "--now", "2026-11-06T09:00", "--transport", "smtp", "--smtp-port", "9")
    password = {"CERTIFY_SMTP_PASSWORD": "secret"}
    for host in ("mail.example.org", "192.0.2.1"):
        ran = cli(
            *common,
            "--smtp-host",
            host,
            "--smtp-security",
            "none",
            "--smtp-user",
            "certify",
            cwd=tmp_path,
            env=password,
        )
        assert ran.returncode == 1
        assert f"would send the password of 'certify' to {host} in clear text" in ran.stderr
    with sqlite3.connect(tmp_path / "certify.db") as conn:
        assert conn.execute(
            "SELECT count(*) FROM deliveries WHERE state != 'skipped'"
        ).fetchone() == (0,)
    # to this machine it may: the refusal is gone, and nothing listens on port 9
    ran = cli(
        *common,
        "--smtp-host",
        "127.0.0.1",
        "--smtp-security",
        "none",
        "--smtp-user",
        "certify",
        cwd=tmp_path,
        env=password,
    )
    assert ran.returncode == 3 and "cannot connect to 127.0.0.1:9" in ran.stdout


def _png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose header claims `width` × `height` pixels (a decompression bomb)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    rows = zlib.compress(b"\0" * (1 + width // 8) * 64, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def test_a_logo_that_is_a_decompression_bomb_is_a_layout_problem(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    from tests.helpers import cli
    from tests.render.test_layout import LAYOUT, configured

    configured(tmp_path, LAYOUT + "logo: bomb.png\n")
    (tmp_path / "templates" / "bomb.png").write_bytes(_png_claiming(60_000, 60_000))
    import_into(tmp_path / "certify.db", export())
    ran = cli("validate", cwd=tmp_path)
    assert ran.returncode == 1
    assert (
        "certificate.pdf.yaml: image 'bomb.png' has more pixels than an image may have"
        in ran.stderr
    )
    ran = cli(
        "run-due", "--now", "2026-11-06T09:00", "--transport", "dir", "--out", "out", cwd=tmp_path
    )
    assert ran.exception is None and ran.returncode == 1
    with sqlite3.connect(tmp_path / "certify.db") as conn:
        assert conn.execute(
            "SELECT count(*) FROM deliveries WHERE state = 'claimed'"
        ).fetchone() == (0,)
    (tmp_path / "templates" / "bomb.png").write_bytes(_png_claiming(8_000, 8_000))
    ran = cli("validate", cwd=tmp_path)
    assert "image 'bomb.png' is 8000 × 8000 pixels; at most 25,000,000" in ran.stderr


def test_text_shown_on_a_terminal_carries_no_control_characters_from_data(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    import io

    from certify.cli.terminal import printable, safe_console
    from tests.helpers import cli

    evil = "Bram\x1b[31m\x07\u202e\x9b"
    folder = _export_of(export, ["P1"], names=[evil + "\nFAKE"])
    make_config(tmp_path)
    assert cli("import", str(folder), "--now", "2026-11-01T08:00", cwd=tmp_path).returncode == 0
    for step in (
        ("run-due", "--now", "2026-11-06T09:00", "--transport", "dir", "--out", "out"),
        ("log",),
        ("explain", "--person", "P1"),
        ("run-due", "--dry-run", "--now", "2026-11-06T09:00"),
    ):
        ran = cli(*step, cwd=tmp_path)
        shown = ran.stdout + ran.stderr
        assert step[0] != "explain" or "Bram" in shown, (step, shown)
        assert not any(char in shown for char in "\x1b\x07\u202e\x9b"), (step, shown)
    assert printable("a\x1b[31mb\nc") == "a\\x1b[31mb\nc"
    assert printable("a\nb\u202e", one_line=True) == "a\\nb\\u202e"
    # a table on a real terminal: Rich's own styles stay, the data's escape does not
    screen = safe_console()
    screen.file = io.StringIO()
    from rich.table import Table

    table = Table("name")
    table.add_row("Bram\x1b]0;owned\x07")
    screen.print(table)
    assert "\x1b]0;" not in screen.file.getvalue() and "\\x1b]0;owned" in screen.file.getvalue()


class _KilledWriting(DirTransport):
    """A run killed in the middle of a hand-over: the file written (`written`) or not yet."""

    def __init__(self, out: Path, *, written: bool) -> None:
        super().__init__(out)
        self.written = written

    def send(self, mail: Mail, file_name: str, before_handover: Callable[[], None]) -> None:
        if self.written:
            super().send(mail, file_name, before_handover)
        raise KeyboardInterrupt  # the process dies here: nothing after it is recorded


def test_recovery_after_a_killed_forced_resend_looks_for_the_resend_s_own_file(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    from certify.deliver.byhand import send_one

    db = tmp_path / "c.db"
    import_into(db, _export_of(export, ["P1"]))
    out = tmp_path / "out"
    config = make_config(tmp_path)
    assert _run_dir(db, tmp_path, out, config) == {"P1": "sent"}
    first = out / safe_file_name("certificate", "C1", "P1")
    now = moment("2026-11-07 09:00")

    def resend(transport: DirTransport) -> None:
        store = Store.open(db)
        try:
            send_one(store, config, "certificate", "C1", "P1", now, transport, force=True,
                     reason="new address", warn=print)  # fmt: skip
        finally:
            store.close()

    def recovered() -> str:
        store = Store.open(db)
        try:
            recover(DeliveryLog(store, now), DirTransport(out))
        finally:
            store.close()
        with sqlite3.connect(db) as conn:
            (state,) = conn.execute("SELECT state FROM deliveries").fetchone()
        return str(state)

    # killed before the resend's file was written: the first file is no proof of it
    with pytest.raises(KeyboardInterrupt):
        resend(_KilledWriting(out, written=False))
    assert sorted(out.glob("*.eml")) == [first]
    assert recovered() == "pending"
    # killed after it was written: its own file (beside the first) is
    with pytest.raises(KeyboardInterrupt):
        resend(_KilledWriting(out, written=True))
    assert len(list(out.glob("*.eml"))) == 2
    assert recovered() == "sent"


def test_a_line_break_from_data_never_starts_a_line_of_plain_output(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from certify.cli.app import plain, warn

    employer = "Gemeente\nsent: certificate C1/P9 <fake@example.org>"
    plain(f"would send: certificate C1/P1 ({employer})")
    plain("2026-000001-1\tvalid\tP1")  # a tab-separated listing keeps its tabs
    warn(f"error: C1/P1: {employer}")
    shown = capsys.readouterr()
    assert shown.out.splitlines() == [
        "would send: certificate C1/P1 (Gemeente\\nsent: certificate C1/P9 <fake@example.org>)",
        "2026-000001-1\tvalid\tP1",
    ]
    assert shown.err.count("\n") == 1 and "Gemeente\\nsent:" in shown.err
