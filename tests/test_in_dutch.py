"""What an administrator reads in Dutch: `--lang nl`, `CERTIFY_LANG=nl`, or the shipped
actions.yaml's `locale: nl` on its own; data, `--json` and command names stay as they are."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import DEMO_NOW, SWITCH_ON, TO_OUTBOX, cli, run_cli

# the language of the shipped actions.yaml decides: no --lang, no CERTIFY_LANG
AS_CONFIGURED = {"CERTIFY_LANG": ""}


def test_explain_reads_in_dutch_with_the_data_as_it_is(switched_on: Path) -> None:
    code, out, err = cli(
        "--lang", "nl", "explain", "--person", "fenna", "--now", DEMO_NOW, cwd=switched_on
    )
    assert code == 0, err
    assert "Fenna de Vries in VCA Basis veiligheid (VCA-2611/P004)" in out
    assert "Certificate: waiting — wacht op een voorwaarde" in out
    assert "aanwezigheid: aanwezig bij 2 van 4 verplichte onderdelen (50 %)" in out
    assert "NIET VOLDAAN" in out
    assert "wacht: aanwezigheid: aanwezig 2 van 4, nodig 3" in out
    assert "waiting on a condition" not in out
    english = cli("explain", "--person", "fenna", "--now", DEMO_NOW, cwd=switched_on).stdout
    assert "Certificate: waiting — waiting on a condition" in english
    # the same figures, worded before in Dutch, read in English in the same process
    assert "waits: attendance: present 2 of 4, needs 3" in english


def test_a_run_sums_up_in_the_language_of_actions_yaml(switched_on: Path) -> None:
    ran = run_cli("run-due", "--now", DEMO_NOW, *TO_OUTBOX, cwd=switched_on, env=AS_CONFIGURED)
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[-1].startswith(
        "verzonden 13, mislukt 0, wacht op verzending 0, onbekend of bezorgd 0, overgeslagen 0, "
        "verlopen 0; wacht op voorwaarden 9, nog niet aan de beurt 4"
    ), lines[-1]
    # each delivery's log line: the state in Dutch, the participant as the export has it
    assert any(
        " verzonden: Participant sending proof of participation WS-2611/P014 Iris Koç <iris.koc@example.nl>"
        in line
        for line in lines
    ), lines


def test_the_dry_run_and_json_in_dutch(switched_on: Path) -> None:
    code, out, err = cli(
        "run-due", "--dry-run", "--now", DEMO_NOW, cwd=switched_on, env={"CERTIFY_LANG": "nl"}
    )
    assert code == 0, err
    assert "zou versturen 13, mislukt 0" in out
    assert "opleidingsstatus 'planned', nodig final: 4" in out
    assert "zou versturen: Participant sending proof of participation WS-2611/P014 Iris Koç" in out
    code, out, err = cli(
        "--lang", "nl", "run-due", "--dry-run", "--json", "--now", DEMO_NOW, cwd=switched_on
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["would_send"] == 13
    assert {d["state"] for d in report["deliveries"]} == {"would send"}


def test_status_reads_in_dutch_and_its_json_stays_english(switched_on: Path) -> None:
    late = "2026-11-12T08:30"  # two days after the last run
    code, out, err = cli("--lang", "nl", "status", "--now", late, cwd=switched_on)
    assert code == 3, err
    assert "laatste run: 2026-11-10 08:00 CET (2 dagen geleden): goed" in out
    assert "leveringen: 5 overgeslagen" in out
    assert (
        "NIET GOED: de laatste geslaagde run was 2 dagen geleden (meer dan 1 uur): "
        "draait cron nog?" in out
    )
    code, out, _err = cli("--lang", "nl", "status", "--json", "--now", late, cwd=switched_on)
    status = json.loads(out)
    assert status["reasons"] == [
        "the last successful run was 2 days ago (more than 1 hour): is cron still running?"
    ]
    assert status["last_run"]["summary"] == "ok"
    assert status["deliveries"] == {"skipped": 5}


def test_errors_about_the_log_and_the_database_read_in_dutch(switched_on: Path) -> None:
    dutch = {"CERTIFY_LANG": "nl"}
    code, _out, err = cli(
        "mark", "certificate", "--course", "VCA-2611", "--person", "P004", "--as", "failed",
        "--reason", "bounced", cwd=switched_on, env=dutch,
    )  # fmt: skip
    assert code != 0
    assert (
        "geen levering van certificate voor VCA-2611/P004 in het logboek: er is niets "
        "verzonden, dus niets kan als mislukt worden gemarkeerd" in err
    )
    code, _out, err = cli("log", "--db", "nothere.db", cwd=switched_on, env=dutch)
    assert code != 0
    assert "nothere.db: deze database bestaat niet" in err
    code, _out, err = cli("log", "--action", "certificat", cwd=switched_on, env=dutch)
    assert code != 0
    assert "--action: onbekende actie 'certificat'" in err
    assert "bedoelt u 'certificate'?" in err


def _loaded_after(folder: Path, *args: str) -> tuple[str, list[str]]:
    """What `certify ARGS` printed, and which catalogues it read, as cron runs it."""
    probe = (
        "import sys; from certify.cli import app; import certify.locale as l\n"
        f"sys.argv = ['certify', *{list(args)!r}]\n"
        "try: app()\n"
        "except SystemExit: pass\n"
        "print('LOADED', *sorted(l._loaded))\n"
    )
    env = {**dict(__import__("os").environ), "CERTIFY_LANG": ""}
    env.pop("CERTIFY_DB", None)
    ran = subprocess.run(
        [sys.executable, "-c", probe], cwd=folder, env=env, capture_output=True, text=True
    )
    assert ran.returncode == 0, ran.stderr
    printed, _, loaded = ran.stdout.rpartition("LOADED")
    return printed + ran.stderr, loaded.split()


def test_a_quiet_tick_with_nothing_due_reads_no_catalogue(switched_on: Path) -> None:
    shown, loaded = _loaded_after(switched_on, "run-due", "-q", "--now", SWITCH_ON, *TO_OUTBOX)
    assert (shown, loaded) == ("", [])
    # the same tick with something to send shows it, in the file's language
    shown, loaded = _loaded_after(switched_on, "run-due", "-q", "--now", DEMO_NOW, *TO_OUTBOX)
    assert loaded == ["nl"]
    assert "verzonden 13, mislukt 0" in shown


def test_a_quiet_first_run_that_only_records_history_says_nothing(examples: Path) -> None:
    assert cli("import", "examples", "--now", "2026-11-01T08:00", cwd=examples).returncode == 0
    shown, loaded = _loaded_after(examples, "run-due", "-q", "--now", SWITCH_ON, *TO_OUTBOX)
    assert (shown, loaded) == ("", [])


def test_init_reads_in_dutch(tmp_path: Path) -> None:
    code, out, err = cli("--lang", "nl", "init", str(tmp_path / "kit"))
    assert code == 0, err
    assert f"{tmp_path / 'kit' / 'actions.yaml'} geschreven" in out
    assert "gemaakt voor de exports van het opleidingssysteem" in out
    assert "verder: zet timezone en sender in actions.yaml" in out
    assert "wrote" not in out


def test_an_import_sums_up_in_dutch(examples: Path) -> None:
    code, out, err = cli(
        "--lang", "nl", "import", "examples", "--now", "2026-11-01T08:00", cwd=examples
    )
    assert code == 0, err
    assert "courses: 6 toegevoegd, 0 bijgewerkt, 0 ongewijzigd, 0 verwijderd" in out
    assert "inserted" not in out


def test_explain_says_its_timing_in_dutch(switched_on: Path) -> None:
    code, out, err = cli(
        "--lang", "nl", "explain", "--person", "fenna", "--now", DEMO_NOW, cwd=switched_on
    )
    assert code == 0, err
    assert " na einde opleiding" in out, out
    assert "course end" not in out


def test_a_mistake_is_an_error_with_a_hint_in_dutch(tmp_path: Path) -> None:
    code, _out, err = cli(
        "--lang", "nl", "import", str(tmp_path), "--actions", str(tmp_path / "none.yaml")
    )
    assert code != 0
    assert "fout: geen actions.yaml in" in err, err
    assert "tip: geef --actions FILE" in err, err


def test_the_report_page_reads_in_the_language_of_actions_yaml(demo_sent: Path) -> None:
    page = demo_sent / "report.html"
    ran = run_cli("report", "--out", str(page), "--now", DEMO_NOW, cwd=demo_sent, env=AS_CONFIGURED)
    assert ran.returncode == 0, ran.stderr
    assert f"{page} geschreven: " in ran.stdout
    html = page.read_text(encoding="utf-8")
    assert '<html lang="nl">' in html
    for dutch in ("Vraagt aandacht", "Verzonden per week", "Wat de woorden betekenen", "Deelnemer"):
        assert dutch in html, dutch
    for english in ("Needs attention", "Sent per week", "What the words mean", "Participant<"):
        assert english not in html, english
    # the administrator's language when asked for, whatever the file says
    english_page = demo_sent / "report-en.html"
    assert (
        cli("report", "--out", str(english_page), "--now", DEMO_NOW, cwd=demo_sent).returncode == 0
    )
    assert "Needs attention" in english_page.read_text(encoding="utf-8")


def test_a_mistake_in_actions_yaml_is_told_in_dutch_at_its_place(switched_on: Path) -> None:
    actions = switched_on / "actions.yaml"
    text = actions.read_text(encoding="utf-8")
    actions.write_text(text + "colour: blue\n", encoding="utf-8")
    line = text.count("\n") + 1
    code, _out, err = cli("--lang", "nl", "validate", cwd=switched_on)
    assert code != 0
    # the location and the key as they are, the sentence in Dutch
    assert f"actions.yaml:{line}:1: onbekende sleutel 'colour' (bekende sleutels: version" in err
    assert "unknown key" not in err
    code, out, _err = cli("--lang", "nl", "validate", "--json", cwd=switched_on)
    assert any("unknown key 'colour'" in problem for problem in json.loads(out)["problems"])


def test_a_broken_actions_yaml_speaks_the_language_it_names(switched_on: Path) -> None:
    # the file fails validation, yet its `locale: nl` still decides what its problems read as
    actions = switched_on / "actions.yaml"
    text = actions.read_text(encoding="utf-8")
    assert "locale: nl" in text
    actions.write_text(text + "colour: blue\n", encoding="utf-8")
    ran = run_cli("validate", cwd=switched_on, env=AS_CONFIGURED)
    assert ran.returncode != 0
    assert "onbekende sleutel 'colour'" in ran.stderr, ran.stderr
    assert "fout: 1 probleem" in ran.stderr, ran.stderr
    assert "unknown key" not in ran.stderr


def test_an_import_warning_reads_in_dutch_with_its_place_as_it_is(examples: Path) -> None:
    (examples / "examples" / "deelnemers.csv").write_text("course_id,person_id\n")
    ran = cli("import", "examples", "--now", "2026-11-01T08:00", cwd=examples, env=AS_CONFIGURED)
    assert ran.returncode == 0, ran.stderr
    assert (
        "waarschuwing: examples/deelnemers.csv: geen bekende tabelnaam, niet geïmporteerd "
        "(bekend: " in ran.stderr
    ), ran.stderr
    assert "not a known table name" not in ran.stderr
    # --json: its warnings English, like its keys
    ran = cli("import", "examples", "--json", cwd=examples, env=AS_CONFIGURED)
    assert any("not a known table name" in w for w in json.loads(ran.stdout)["warnings"])


def test_the_register_s_commands_speak_dutch_and_its_pages_the_certificate_s_language(
    demo_sent: Path,
) -> None:
    listed = json.loads(cli("certificates", "list", "--json", cwd=demo_sent).stdout)
    entry = next(e for e in listed if e["person_id"] == "P001")
    ran = cli("--lang", "nl", "certificates", "verify", entry["number"], cwd=demo_sent)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == (
        f"{entry['number']} geldig: Jan van der Berg, VCA Basis veiligheid (VCA-2611), "
        "uitgegeven op 2026-11-20"
    )
    unknown = cli("--lang", "nl", "certificates", "verify", "ZZZZ-ZZZZ-ZZZZ", cwd=demo_sent)
    assert unknown.returncode == 1
    assert "fout: geen uitgegeven certificaat heeft het nummer of de code" in unknown.stderr
    assert "tip: een nummer ziet eruit als 2026-000123-4" in unknown.stderr
    site = demo_sent / "site"
    ran = cli("--lang", "en", "certificates", "publish", "--out", str(site), cwd=demo_sent)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith(f"published {len(listed)} certificates to {site}: ")
    # the administrator reads English; the page is in the language the certificate has
    page = (site / entry["code"] / "index.html").read_text(encoding="utf-8")
    assert "Certificaat controleren" in page and "Geldig: dit certificaat" in page, page


def test_an_import_error_reads_in_dutch_at_its_file_line_and_column(examples: Path) -> None:
    persons = examples / "examples" / "persons.csv"
    text = persons.read_text(encoding="utf-8")
    persons.write_text(text.replace("jan.vanderberg@example.nl", "zoe-at-example.org"), "utf-8")
    ran = cli("--lang", "nl", "import", "examples", "--now", "2026-11-01T08:00", cwd=examples)
    assert ran.returncode == 1
    assert (
        "examples/persons.csv:2: kolom 'email': 'zoe-at-example.org' is geen e-mailadres ("
        in ran.stderr
    ), ran.stderr


def test_an_export_s_structural_errors_read_in_dutch_at_their_place(examples: Path) -> None:
    folder = examples / "examples"
    persons = folder / "persons.csv"
    header, first, *rest = persons.read_text(encoding="utf-8").splitlines()
    persons.write_text("\n".join([header, first, first, *rest]) + "\n", encoding="utf-8")
    enrollments = folder / "enrollments.csv"
    text = enrollments.read_text(encoding="utf-8")
    enrollments.write_text(text.replace("P002", "P999", 1), encoding="utf-8")
    results = folder / "results.csv"
    results.write_text(results.read_text(encoding="utf-8").replace("passed", "geslaagd", 1))
    courses = folder / "courses.csv"
    courses.write_text(courses.read_text(encoding="utf-8").replace("12-11-2026", "31-02-2026", 1))
    ran = run_cli("import", "examples", "--now", "2026-11-01T08:00", cwd=examples, env={
        "CERTIFY_LANG": "nl"})  # fmt: skip
    assert ran.returncode == 1
    err = ran.stderr
    assert "examples/results.csv:1: verplichte kolom 'passed' ontbreekt (verplicht: " in err, err
    assert (
        "examples/persons.csv:2: dubbele sleutel person_id = 'P001' "
        "(regels examples/persons.csv:2 en examples/persons.csv:3); houd één regel per sleutel"
    ) in err, err
    assert (
        "kolom 'person_id': persoon 'P999' bestaat niet in de database en niet in deze import"
        in err
    ), err
    assert "examples/courses.csv:2: kolom 'end': kan '31-02-2026' niet lezen als datum (" in err
    assert "tip: er is niets geïmporteerd; verbeter de regels hierboven" in err, err
    for english in ("missing required column", "duplicate key", "exists neither"):
        assert english not in err, english


def test_a_mistake_in_the_import_and_retention_sections_reads_in_dutch(examples: Path) -> None:
    actions = examples / "actions.yaml"
    actions.write_text(
        actions.read_text(encoding="utf-8")
        + "import:\n  encoding: klingon\nretention:\n  personal_data: forever\n",
        encoding="utf-8",
    )
    code, _out, err = cli("--lang", "nl", "validate", cwd=examples)
    assert code != 0
    assert "onbekende codering 'klingon' (zoals utf-8, cp1252 of latin-1)" in err, err
    assert "kan 'forever' niet lezen als bewaartermijn voor persoonsgegevens" in err, err


def test_runs_the_log_and_explain_name_an_action_by_its_name(switched_on: Path) -> None:
    dry = cli("--lang", "nl", "run-due", "--dry-run", "--now", DEMO_NOW, cwd=switched_on).stdout
    assert "zou versturen: Certificate VCA-2611/P001 Jan van der Berg" in dry, dry
    assert "wacht: Certificate: aanwezigheid: aanwezig 2 van 4, nodig 3: 1" in dry, dry
    assert "versturen: certificate " not in dry
    ran = cli("run-due", "--now", DEMO_NOW, *TO_OUTBOX, cwd=switched_on)
    assert " sent: Participant sending proof of participation WS-2611/P014 Iris Koç" in ran.stdout
    log = cli("log", "--person", "P014", cwd=switched_on).stdout
    assert "Participant sending proof of participation WS-2611/P014" in log, log
    explained = cli("explain", "--person", "fenna", "--now", DEMO_NOW, cwd=switched_on).stdout
    assert "Certificate: waiting — waiting on a condition" in explained


def test_a_renewal_s_due_line_and_a_register_refusal_read_in_dutch(switched_on: Path) -> None:
    actions = switched_on / "actions.yaml"
    text = actions.read_text(encoding="utf-8").replace(
        "    expire_after: 60 days\n", "    expire_after: 60 days\n    validity: 1 year\n", 1
    )
    reminder = (
        '\n  - id: refresher-6w\n    name: "Refresher [Opleiding:Naam]"\n'
        "    email_template: proof_of_participation\n    timing: {before: certificate_expiry, "
        'of: certificate, offset: 1, unit: weeks, at: "09:00"}\n'
    )
    actions.write_text(text.replace("\n# The register", reminder + "\n# The register", 1))
    assert cli("run-due", "--now", DEMO_NOW, *TO_OUTBOX, cwd=switched_on).returncode == 0
    code, out, err = cli(
        "--lang", "nl", "explain", "--course", "VCA-2611", "--person", "P001", "--now", DEMO_NOW,
        cwd=switched_on,
    )  # fmt: skip
    assert code == 0, err
    joined = " ".join(out.split())  # explain wraps its lines at 80 columns
    assert "(1 week voor het verlopen van het certificaat van certificate, om 09:00)" in joined
    listed = json.loads(cli("certificates", "list", "--json", cwd=switched_on).stdout)
    entry = next(e for e in listed if e["person_id"] == "P001")
    revoke = ("certificates", "revoke", entry["number"], "--reason", "fraude")
    assert cli(*revoke, cwd=switched_on).returncode == 0
    ran = run_cli("--lang", "nl", *revoke, cwd=switched_on)
    assert ran.returncode != 0
    assert f"certificaat {entry['number']} is al ingetrokken" in ran.stderr, ran.stderr
