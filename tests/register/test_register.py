"""The certificate register: kept as issued, verified by number or code, revoked, exported
and published as a static site."""

from __future__ import annotations

import csv
import hashlib
import http.server
import io
import json
import shutil
import sqlite3
import subprocess
import threading
import zipfile
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from certify.register.codes import ALPHABET, new_code, read_code, shown
from certify.register.keep import LISTED
from tests.helpers import DEMO_NOW, TO_OUTBOX, cli, rows

VERIFY = "https://example.org/certificaat/"


def listed(cwd: Path, *options: str) -> list[dict[str, str]]:
    ran = cli("certificates", "list", "--json", *options, cwd=cwd)
    assert ran.returncode == 0, ran.stderr
    result: list[dict[str, str]] = json.loads(ran.stdout)
    return result


def attachments(outbox: Path) -> dict[str, bytes]:
    """Person id → the PDF attached to their certificate e-mail in the outbox."""
    found = {}
    for file in outbox.glob("*.eml"):
        message = message_from_bytes(file.read_bytes(), policy=policy.default)
        for part in message.iter_attachments():
            if message["X-Certify-Action"] == "certificate":
                data = part.get_payload(decode=True)
                assert isinstance(data, bytes)
                found[str(message["X-Certify-Person"])] = data
    return found


# -- codes -------------------------------------------------------------------------------------


def test_a_code_is_12_symbols_of_crockford_base_32_shown_in_groups_of_four() -> None:
    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000  # 60 bits: no repeats
    assert all(len(code) == 12 and set(code) <= set(ALPHABET) for code in codes)
    assert not set("ILOU") & set("".join(codes))
    assert shown("ABCDEFGHJKMN") == "ABCD-EFGH-JKMN"


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("ABCD-EFGH-JK10", "ABCDEFGHJK10"),
        ("abcd efgh jk10", "ABCDEFGHJK10"),
        ("abcdefghjkIO", "ABCDEFGHJK10"),
        ("ABCD-EFGH-JKlo", "ABCDEFGHJK10"),
        (" abcd-efgh-jk1o ", "ABCDEFGHJK10"),
        ("ABCD-EFGH-JKU0", None),  # U is not a symbol
        ("ABCD-EFGH-JK", None),
        ("2026-000006-6", None),
    ],
)
def test_a_code_is_read_as_people_type_it(typed: str, read: str | None) -> None:
    assert read_code(typed) == read


# -- kept as issued ----------------------------------------------------------------------------


def test_each_sent_certificate_is_kept_byte_for_byte_and_listed(demo_sent: Path) -> None:
    register = listed(demo_sent)
    sent = attachments(demo_sent / "outbox")
    assert {entry["person_id"] for entry in register} == set(sent) and len(register) == 4
    for entry in register:
        assert list(entry) == list(LISTED)
        assert entry["state"] == "valid" and entry["source"] == "issued"
        assert entry["issued_on"] == "2026-11-20" and entry["valid_until"] == ""
        assert read_code(entry["code"]) is not None and entry["code"].count("-") == 2
        (digest,) = rows(
            demo_sent / "certify.db",
            f"SELECT sha256 FROM certificates WHERE number = '{entry['number']}'",
        )[0]
        assert digest == hashlib.sha256(sent[entry["person_id"]]).hexdigest()
    assert listed(demo_sent, "--person", "P002")[0]["full_name"] == "Zoë Öztürk"
    assert listed(demo_sent, "--course", "NONE") == []
    assert cli("certificates", "list", "--state", "vald", cwd=demo_sent).returncode == 2


def test_get_gives_the_attachment_even_after_the_name_and_the_layout_changed(
    demo_sent: Path, tmp_path: Path
) -> None:
    entry = listed(demo_sent, "--person", "P002")[0]
    attached = attachments(demo_sent / "outbox")["P002"]
    with sqlite3.connect(demo_sent / "certify.db") as conn:
        conn.execute("UPDATE persons SET full_name = 'Zoë van Öztürk' WHERE person_id = 'P002'")
    conn.close()
    layout = demo_sent / "templates" / "certificate.pdf.yaml"
    layout.write_text(layout.read_text().replace('title: "Certificaat"', 'title: "Diploma"'))
    for reference in (entry["number"], entry["code"].lower()):
        out = tmp_path / f"{reference}.pdf"
        ran = cli("certificates", "get", reference, "--out", str(out), cwd=demo_sent)
        assert ran.returncode == 0, ran.stderr
        assert out.read_bytes() == attached
    assert listed(demo_sent, "--person", "P002")[0]["full_name"] == "Zoë Öztürk"  # as printed


def test_the_qr_code_on_the_page_is_the_verification_url(demo_sent: Path) -> None:
    pdfium = pytest.importorskip("pypdfium2")
    zxingcpp = pytest.importorskip("zxingcpp")
    entry = listed(demo_sent, "--person", "P001")[0]
    pdf = pdfium.PdfDocument(attachments(demo_sent / "outbox")["P001"])
    image = pdf[0].render(scale=3).to_pil()
    found = [result.text for result in zxingcpp.read_barcodes(image)]
    assert found == [VERIFY + entry["code"]]


def test_a_run_killed_while_handing_over_leaves_the_certificate_issued_as_unknown(
    switched_on: Path,
) -> None:
    """The PDF is on disk before the hand-over: a delivery recovered `unknown` is issued."""
    from certify.clock import parse_moment
    from certify.config import load
    from certify.deliver.log import DeliveryLog
    from certify.deliver.outbox import DirTransport
    from certify.deliver.runner import Runner
    from certify.store.database import Store

    config = load(switched_on / "actions.yaml")
    now = parse_moment(DEMO_NOW, config.tz)
    with Store.open(switched_on / "certify.db") as store:
        runner = Runner(store, config, None, now)
        decision = next(
            d
            for d in runner.plan(config.actions).by_outcome("send")
            if d.action.id == "certificate"
        )

        class Killed(Exception):
            pass

        class DiesWhileSending(DirTransport):
            def send(self, mail, file_name, before_handover):  # type: ignore[no-untyped-def]
                before_handover()
                raise Killed

        with pytest.raises(Killed):
            runner.deliver(decision, DiesWhileSending(switched_on / "outbox"))
        assert (
            DeliveryLog(store, now)
            .recover(lambda _key, _message_id: None)[0]
            .endswith("sending → unknown (run stopped while handing the message over)")
        )
    (entry,) = listed(switched_on)
    assert entry["person_id"] == decision.participant.person_id and entry["state"] == "valid"


# -- verify, revoke ----------------------------------------------------------------------------


def test_verify_says_the_state_in_one_line_with_its_exit_code(demo_sent: Path) -> None:
    entry = listed(demo_sent, "--person", "P001")[0]
    typed = entry["code"].replace("-", " ").lower().replace("0", "o").replace("1", "l")
    for reference in (entry["number"], typed):
        ran = cli("certificates", "verify", reference, cwd=demo_sent)
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.strip() == (
            f"{entry['number']} valid: Jan van der Berg, VCA Basis veiligheid (VCA-2611), "
            "issued 2026-11-20"
        )
    unknown = cli("certificates", "verify", "ZZZZ-ZZZZ-ZZZZ", cwd=demo_sent)
    assert unknown.returncode == 1 and "no issued certificate" in unknown.stderr
    assert cli("certificates", "verify", "2099-000001-1", cwd=demo_sent).returncode == 1


def test_revoke_is_audited_mails_nothing_and_makes_verify_exit_3(demo_sent: Path) -> None:
    entry = listed(demo_sent, "--person", "P003")[0]
    mailed = sorted((demo_sent / "outbox").iterdir())
    ran = cli("certificates", "revoke", entry["code"], "--reason", "exam fraud", cwd=demo_sent)
    assert ran.returncode == 0, ran.stderr
    assert sorted((demo_sent / "outbox").iterdir()) == mailed
    verify = cli("certificates", "verify", entry["number"], cwd=demo_sent)
    assert verify.returncode == 3 and "revoked (exam fraud)" in verify.stdout
    assert listed(demo_sent, "--state", "revoked") == [{**entry, "state": "revoked"}]
    events = rows(
        demo_sent / "certify.db",
        f"SELECT event, detail FROM certificate_events WHERE number = '{entry['number']}'",
    )
    assert events == [("issued", None), ("revoked", "exam fraud")]
    again = cli("certificates", "revoke", entry["number"], "--reason", "x", cwd=demo_sent)
    assert again.returncode == 1 and "already revoked" in again.stderr


# -- export, publish ---------------------------------------------------------------------------


def test_export_writes_the_pdfs_by_course_and_the_register(demo_sent: Path) -> None:
    target = demo_sent / "register.zip"
    ran = cli("certificates", "export", "--out", str(target), cwd=demo_sent)
    assert ran.returncode == 0, ran.stderr
    sent = attachments(demo_sent / "outbox")
    register = {entry["person_id"]: entry for entry in listed(demo_sent)}
    with zipfile.ZipFile(target) as archive:
        names = set(archive.namelist())
        for person, entry in register.items():
            name = f"VCA-2611/{entry['number']} - {entry['full_name']}.pdf"
            assert name in names and archive.read(name) == sent[person]
        table = archive.read("register.csv").decode("utf-8-sig")
    read = list(csv.DictReader(io.StringIO(table)))
    assert read == list(register.values())
    assert target.stat().st_mode & 0o777 == 0o600
    since = cli(
        "certificates", "export", "--out", "later.zip", "--since", "2026-12-01", cwd=demo_sent
    )
    assert since.returncode == 0 and "wrote 0 certificates" in since.stdout


def test_publish_writes_a_page_per_certificate_that_says_only_what_verification_needs(
    demo_sent: Path,
) -> None:
    site = demo_sent / "site"
    ran = cli("certificates", "publish", "--out", str(site), cwd=demo_sent)
    assert ran.returncode == 0, ran.stderr
    assert "7 pages written, 0 unchanged" in ran.stdout
    assert (site / "robots.txt").read_text() == "User-agent: *\nDisallow: /\n"
    pages = list(site.rglob("*.html"))
    assert len(pages) == 6
    for page in pages:
        html = page.read_text()
        assert '<meta name="robots" content="noindex, nofollow">' in html
        assert "http" not in html.replace("https://example.org", "")  # nothing from elsewhere
    entry = listed(demo_sent, "--person", "P002")[0]
    page = (site / entry["code"] / "index.html").read_text()
    for shown_text in ("Opleidingsbureau", "Zoë Öztürk", "VCA Basis veiligheid", entry["number"],
                       "20 november 2026", "22 oktober 2026 – 12 november 2026", "Geldig"):  # fmt: skip
        assert shown_text in page, shown_text
    for private in ("zoe@", "P002", "@example"):
        assert private not in page
    assert not list(site.rglob("*.json"))  # what was published is noted beside the site
    again = cli("certificates", "publish", "--out", str(site), cwd=demo_sent)
    assert "0 pages written, 7 unchanged" in again.stdout
    (site / entry["code"] / "index.html").unlink()  # a page lost is written again
    assert (
        "1 pages written, 6 unchanged"
        in cli("certificates", "publish", "--out", str(site), cwd=demo_sent).stdout
    )
    cli("certificates", "revoke", entry["number"], "--reason", "wrong course", cwd=demo_sent)
    third = cli("certificates", "publish", "--out", str(site), cwd=demo_sent)
    assert "1 pages written, 6 unchanged" in third.stdout
    revoked = (site / entry["code"] / "index.html").read_text()
    assert "Ingetrokken door de uitgever" in revoked and "Zoë Öztürk" in revoked
    # what every page is made from changes: each page that shows it is made again
    actions = demo_sent / "actions.yaml"
    text = actions.read_text(encoding="utf-8")
    assert 'issuer: "Opleidingsbureau"' in text
    actions.write_text(text.replace('issuer: "Opleidingsbureau"', 'issuer: "Academie"'))
    fourth = cli("certificates", "publish", "--out", str(site), cwd=demo_sent)
    assert "5 pages written, 2 unchanged" in fourth.stdout, fourth.stdout
    assert "Academie" in (site / entry["code"] / "index.html").read_text()


def _browser() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def served(demo_sent: Path) -> Iterator[tuple[str, Path]]:
    """The published site on a local web server."""
    site = demo_sent / "site"
    assert cli("certificates", "publish", "--out", str(site), cwd=demo_sent).returncode == 0

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(site), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", demo_sent
    finally:
        server.shutdown()


@pytest.mark.slow
@pytest.mark.skipif(
    _browser() is None,
    reason="no Chromium on this machine (.ci/run installs Debian's `chromium`); "
    "the pages themselves are checked by the other tests",
)
def test_a_browser_goes_from_the_form_to_the_code_s_page(
    served: tuple[str, Path], tmp_path: Path
) -> None:
    base, world = served
    entry = listed(world, "--person", "P001")[0]
    typed = entry["code"].replace("-", " ").lower()  # as a person may type it
    dom = subprocess.run(
        [str(_browser()), "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-dev-shm-usage", "--no-first-run", f"--user-data-dir={tmp_path / 'p'}",
         "--virtual-time-budget=5000", "--dump-dom", f"{base}/?code={typed}"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "Jan van der Berg" in dom.stdout and entry["number"] in dom.stdout


# -- text that fits ----------------------------------------------------------------------------


def _run_with_names(
    tmp_path: Path, export: Callable[..., Path], names: list[str]
) -> dict[str, object]:
    from tests.render.test_layout import configured

    configured(tmp_path)
    persons = "\n".join(
        ["person_id,full_name,email"]
        + [f"P{i},{name},p{i}@example.org" for i, name in enumerate(names, 1)]
    )
    enrollments = "\n".join(
        ["course_id,person_id,enrolled_at"]
        + [f"C1,P{i},2026-10-01" for i in range(1, len(names) + 1)]
    )
    attendance = "\n".join(
        ["part_id,person_id,present,registered_at"]
        + [
            f"C1-{d},P{p},yes,2026-11-0{d + 1} 17:00"
            for d in range(1, 5)
            for p in range(1, len(names) + 1)
        ]
    )
    results = "\n".join(
        ["part_id,person_id,passed,registered_at"]
        + [f"C1-4,P{p},yes,2026-11-05 18:00" for p in range(1, len(names) + 1)]
    )
    folder = export(
        persons=persons, enrollments=enrollments, attendance=attendance, results=results
    )
    assert cli("import", str(folder), "--now", "2026-11-06T08:00", cwd=tmp_path).returncode == 0
    ran = cli("run-due", "--now", "2026-11-06T09:00", *TO_OUTBOX, "--json", cwd=tmp_path)
    return {d["person"]: (d["state"], d["error"]) for d in json.loads(ran.stdout)["deliveries"]}


def test_a_very_long_name_is_set_smaller_and_one_that_cannot_fit_fails_alone(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    from pypdf import PdfReader

    long_name = "Maximiliaan Alexander Johannes Cornelis van den Heuvel-Brouwer de la Fontaine"
    endless = "Wolfeschlegelsteinhausenbergerdorff" * 6  # one word wider than the page
    states = _run_with_names(tmp_path, export, [long_name, endless])
    assert states["P1"] == ("sent", None)
    assert states["P2"][0] == "failed"
    assert "does not fit on the page, even set smaller and wrapped" in str(states["P2"][1])
    (entry,) = listed(tmp_path)
    assert entry["full_name"] == long_name
    out = tmp_path / "long.pdf"
    assert (
        cli("certificates", "get", entry["number"], "--out", str(out), cwd=tmp_path).returncode == 0
    )
    text = PdfReader(out).pages[0].extract_text()
    assert long_name in " ".join(text.split())


# -- re-issue ----------------------------------------------------------------------------------


def test_a_reissue_mails_a_new_certificate_and_supersedes_the_old_one_once(
    demo_sent: Path,
) -> None:
    old = listed(demo_sent, "--person", "P001")[0]
    with sqlite3.connect(demo_sent / "certify.db") as conn:
        conn.execute("UPDATE persons SET full_name = 'Jan van den Berg' WHERE person_id = 'P001'")
    conn.close()
    reissue = ("certificates", "reissue", old["code"], "--reason", "name corrected")
    dry = cli(*reissue, "--dry-run", cwd=demo_sent)
    assert dry.returncode == 0 and dry.stdout.startswith("would send: re-issue of")
    assert listed(demo_sent, "--person", "P001") == [old]  # the dry run changed nothing
    ran = cli(*reissue, *TO_OUTBOX, "--now", "2026-12-01T10:00", cwd=demo_sent)
    assert ran.returncode == 0, ran.stderr
    previous, new = listed(demo_sent, "--person", "P001")
    assert previous == {**old, "state": "superseded"}
    assert new["full_name"] == "Jan van den Berg" and new["number"] != old["number"]
    assert new["code"] != old["code"] and new["issued_on"] == "2026-12-01"
    verify = cli("certificates", "verify", old["number"], cwd=demo_sent)
    assert verify.returncode == 3 and f"superseded by {new['number']}" in verify.stdout
    (mail,) = (demo_sent / "outbox").glob("certificate.reissue.*.eml")
    message = message_from_bytes(mail.read_bytes(), policy=policy.default)
    (attachment,) = list(message.iter_attachments())
    out = demo_sent / "new.pdf"
    assert (
        cli("certificates", "get", new["number"], "--out", str(out), cwd=demo_sent).returncode == 0
    )
    assert out.read_bytes() == attachment.get_payload(decode=True)
    again = cli(*reissue, *TO_OUTBOX, cwd=demo_sent)
    assert again.returncode == 1 and "superseded" in again.stderr


def test_a_revoked_certificate_is_not_reissued(demo_sent: Path) -> None:
    """Re-issuing would mail a new valid certificate and quietly undo the revocation."""
    old = listed(demo_sent, "--person", "P002")[0]
    assert cli("certificates", "revoke", old["number"], "--reason", "fraud",
               cwd=demo_sent).returncode == 0  # fmt: skip
    for dry in (("--dry-run",), TO_OUTBOX):
        ran = cli("certificates", "reissue", old["number"], "--reason", "name", *dry,
                  cwd=demo_sent)  # fmt: skip
        assert ran.returncode == 1, ran.stdout
        assert f"certificate {old['number']} is revoked: not re-issued" in ran.stderr
    assert listed(demo_sent, "--person", "P002") == [{**old, "state": "revoked"}]
    assert not list((demo_sent / "outbox").glob("certificate.reissue.*.eml"))


@pytest.mark.slow
def test_a_reissue_killed_at_any_moment_never_gives_two(demo_sent: Path) -> None:
    """SIGKILL at random moments of `reissue` (the real process); each next attempt first
    settles what the killed one left. At most one new certificate, ever; once one is sent,
    its kept PDF is the one in the outbox."""
    import os
    import random
    import signal
    import sys
    import time

    rng = random.Random(int(os.environ.get("CERTIFY_FAULTS_SEED", "20261207")))
    old = listed(demo_sent, "--person", "P003")[0]
    command = [sys.executable, "-m", "certify", "certificates", "reissue", old["number"],
               "--reason", "name corrected", *TO_OUTBOX, "--now", "2026-12-01T10:00"]  # fmt: skip
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CERTIFY_")}
    db = demo_sent / "certify.db"
    for attempt in range(12):
        process = subprocess.Popen(
            command, cwd=demo_sent, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        if attempt < 10:
            time.sleep(rng.uniform(0.05, 1.2))
            process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
        issued = rows(db, f"SELECT number FROM certificates WHERE replaces = '{old['number']}' "
                      "AND issued_at IS NOT NULL")  # fmt: skip
        logged = rows(db, "SELECT state FROM deliveries WHERE action LIKE '%.reissue.%'")
        assert len(issued) <= 1 and len(logged) <= 1, (attempt, issued, logged)
    (state,) = rows(db, "SELECT state FROM deliveries WHERE action LIKE '%.reissue.%'")[0]
    register = listed(demo_sent, "--person", "P003")
    assert [entry["state"] for entry in register] == ["superseded", "valid"]
    if state == "sent":
        (mail,) = (demo_sent / "outbox").glob("certificate.reissue.*.eml")
        message = message_from_bytes(mail.read_bytes(), policy=policy.default)
        (attachment,) = list(message.iter_attachments())
        out = demo_sent / "new.pdf"
        get = cli("certificates", "get", register[1]["number"], "--out", str(out), cwd=demo_sent)
        assert get.returncode == 0 and out.read_bytes() == attachment.get_payload(decode=True)
    else:
        assert state == "unknown"  # killed while handing over: issued, never sent again


def test_a_layout_with_a_qr_code_and_no_verify_url_is_a_validation_error(examples: Path) -> None:
    actions = examples / "actions.yaml"
    text = actions.read_text()
    actions.write_text(text[: text.index("certificates:")])
    ran = cli("validate", cwd=examples)
    assert ran.returncode == 1
    assert "certificate.pdf.yaml: qr: a QR code needs certificates.verify_url" in ran.stderr


def test_a_forgotten_person_s_certificate_is_withdrawn_without_the_name_or_the_pdf(
    demo_sent: Path,
) -> None:
    entry = listed(demo_sent, "--person", "P002")[0]
    site = demo_sent / "site"
    cli("certificates", "publish", "--out", str(site), cwd=demo_sent)
    ran = cli("forget", "--person", "P002", "--reason", "asked by e-mail", cwd=demo_sent)
    assert ran.returncode == 0, ran.stderr
    assert listed(demo_sent, "--person", "P002") == [
        {**entry, "full_name": "", "state": "withdrawn"}
    ]
    verify = cli("certificates", "verify", entry["code"], cwd=demo_sent)
    assert verify.returncode == 3 and "Öztürk" not in verify.stdout
    get = cli("certificates", "get", entry["number"], "--out", "x.pdf", cwd=demo_sent)
    assert get.returncode == 1 and "no PDF kept" in get.stderr
    assert rows(demo_sent / "certify.db", "SELECT count(*) FROM certificate_files") == [(3,)]
    cli("certificates", "publish", "--out", str(site), cwd=demo_sent)
    page = (site / entry["code"] / "index.html").read_text()
    assert "Vervallen" in page and "Öztürk" not in page and entry["number"] in page
    assert b"\xc3\x96zt\xc3\xbcrk" not in (demo_sent / "certify.db").read_bytes()


def test_a_validity_gives_valid_until_and_the_certificate_expires_after_it(
    switched_on: Path,
) -> None:
    actions = switched_on / "actions.yaml"
    text = actions.read_text()
    actions.write_text(
        text.replace(
            "    expire_after: 60 days\n", "    expire_after: 60 days\n    validity: 1 year\n", 1
        )
    )
    assert cli("run-due", "--now", DEMO_NOW, *TO_OUTBOX, cwd=switched_on).returncode == 0
    entry = listed(switched_on, "--person", "P001")[0]
    assert entry["valid_until"] == "2027-11-12" and entry["state"] == "valid"
    later = listed(switched_on, "--person", "P001", "--now", "2027-11-13T09:00")[0]
    assert later["state"] == "expired"
    verify = cli(
        "certificates", "verify", entry["number"], "--now", "2027-11-13T09:00", cwd=switched_on
    )
    assert verify.returncode == 3 and "valid until 2027-11-12" in verify.stdout


@pytest.mark.slow
@pytest.mark.skipif(
    _browser() is None,
    reason="no Chromium on this machine (.ci/run installs Debian's `chromium`); "
    "the page's switch is checked by the other assertions",
)
def test_a_page_published_while_valid_says_expired_once_its_validity_has_ended(
    switched_on: Path, tmp_path: Path
) -> None:
    """The site is static and may not be published again every day: a page published while
    the certificate was valid says `expired` to a visitor after its last valid day."""
    actions = switched_on / "actions.yaml"
    actions.write_text(
        actions.read_text().replace(
            "    expire_after: 60 days\n", "    expire_after: 60 days\n    validity: 1 day\n", 1
        )
    )
    assert cli("run-due", "--now", DEMO_NOW, *TO_OUTBOX, cwd=switched_on).returncode == 0
    entry = listed(switched_on, "--person", "P001")[0]
    assert entry["valid_until"] == "2026-11-13"  # before today, whenever the test runs
    site = switched_on / "site"
    ran = cli("certificates", "publish", "--out", str(site), "--now", "2026-11-13T10:00",
              cwd=switched_on)  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    page = site / entry["code"] / "index.html"
    assert "Geldig: dit certificaat is uitgegeven zoals hier staat." in page.read_text()
    dom = subprocess.run(
        [str(_browser()), "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-dev-shm-usage", "--no-first-run", f"--user-data-dir={tmp_path / 'p'}",
         "--virtual-time-budget=2000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "Verlopen: dit certificaat was geldig tot de genoemde datum." in dom.stdout
    assert "Geldig: dit certificaat" not in dom.stdout
