"""The texts that come from elsewhere read in Dutch too: the command line's own mistakes,
YAML syntax, template problems, delivery errors and history; and a command that reads no
actions.yaml speaks the language of the one beside it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import DEMO_NOW, TO_OUTBOX, run_cli

# the language of the actions.yaml in the folder decides: no --lang, no CERTIFY_LANG
AS_CONFIGURED = {"CERTIFY_LANG": ""}


def test_a_mistyped_command_reads_in_dutch_with_its_usage(examples: Path) -> None:
    ran = run_cli("--lang", "nl", "statuss", cwd=examples)
    assert ran.returncode == 2
    usage, hint = ran.stderr.splitlines()[:2]
    assert usage.startswith("Gebruik: ") and usage.endswith("certify [OPTIONS] COMMAND [ARGS]...")
    assert hint.startswith("Zie '") and hint.endswith("certify -h' voor hulp."), ran.stderr
    assert "Fout: Onbekende opdracht 'statuss'. Bedoelt u 'status'?" in ran.stderr
    assert "No such command" not in ran.stderr


def test_the_command_line_s_own_mistakes_read_in_the_language_of_actions_yaml(
    examples: Path,
) -> None:
    said = {
        ("import",): "Fout: Argument 'PATH...' ontbreekt.",
        ("explain",): "Fout: Optie '--person' ontbreekt.",
        ("log", "--bogus"): "Fout: Onbekende optie: --bogus",
        ("log", "--state"): "Fout: Optie '--state' heeft een waarde nodig.",
        (
            "report",
            "--days",
            "x",
        ): "Fout: Ongeldige waarde voor '--days': hier hoort een geheel getal",
        (
            "run-due",
            "--wait",
            "-1",
        ): "Fout: Ongeldige waarde voor '--wait': het moet 0 of meer zijn",
        (
            "log",
            "--state",
            "bogus",
        ): "Fout: Ongeldige waarde voor '--state': 'bogus' is niet een van",
        ("status", "extra"): "Fout: Onverwacht extra argument (extra)",
    }
    for args, dutch in said.items():
        ran = run_cli(*args, cwd=examples, env=AS_CONFIGURED)
        assert ran.returncode == 2, args
        assert dutch in ran.stderr, (args, ran.stderr)
        assert "Error:" not in ran.stderr and "Usage:" not in ran.stderr, ran.stderr
    # the same mistake in English reads as Click wrote it
    ran = run_cli("log", "--state", "bogus", cwd=examples)
    assert "Error: Invalid value for '--state': 'bogus' is not one of 'pending'," in ran.stderr


def test_help_stays_english_whatever_the_language(examples: Path) -> None:
    ran = run_cli("--lang", "nl", "log", "-h", cwd=examples)
    assert ran.returncode == 0
    assert ran.stdout.startswith("Usage: ") and "certify log [OPTIONS]" in ran.stdout
    assert "Options:" in ran.stdout and "Show this message and exit." in ran.stdout


def test_init_speaks_the_language_of_the_actions_yaml_beside_it(examples: Path) -> None:
    kit = examples / "kit"
    ran = run_cli("init", str(kit), cwd=examples, env=AS_CONFIGURED)
    assert ran.returncode == 0, ran.stderr
    assert f"{kit / 'actions.yaml'} geschreven" in ran.stdout, ran.stdout
    # no actions.yaml here: English
    elsewhere = run_cli("init", "again", cwd=kit.parent / "templates", env=AS_CONFIGURED)
    assert "wrote" in elsewhere.stdout, elsewhere.stdout


def test_a_register_command_speaks_the_language_of_actions_yaml_though_it_reads_none(
    examples: Path,
) -> None:
    actions = examples / "actions.yaml"
    # a file that would not load still names its language; CERTIFY_ACTIONS points to it
    actions.rename(examples / "site.yaml")
    (examples / "site.yaml").write_text(
        (examples / "site.yaml").read_text(encoding="utf-8") + "colour: [\n", encoding="utf-8"
    )
    ran = run_cli(
        "certificates", "get", "ZZZZ-ZZZZ-ZZZZ", "--out", "x.pdf", cwd=examples,
        env={**AS_CONFIGURED, "CERTIFY_ACTIONS": "site.yaml"},
    )  # fmt: skip
    assert ran.returncode != 0
    assert "fout: certify.db: deze database bestaat niet" in ran.stderr, ran.stderr


def test_a_quiet_tick_still_reads_no_catalogue_and_peeks_at_nothing_it_does_not_show(
    examples: Path,
) -> None:
    probe = (
        "import sys; from certify.cli import app; import certify.locale as l\n"
        "sys.argv = ['certify', '--version']\n"
        "try: app()\n"
        "except SystemExit: pass\n"
        "print('LOADED', *sorted(l._loaded), 'PEEKED', *l._peeked)\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", probe], cwd=examples, capture_output=True, text=True,
        env={"PATH": "/usr/bin:/bin", "CERTIFY_LANG": ""},
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split("LOADED")[1].split() == ["PEEKED"]


def test_a_yaml_syntax_error_reads_in_the_language_the_broken_file_names(examples: Path) -> None:
    actions = examples / "actions.yaml"
    text = actions.read_text(encoding="utf-8")
    line = text.count("\n") + 1
    broken = {
        "x:\n\tb: 1\n": f"actions.yaml:{line + 1}:1: een tab: YAML kent alleen spaties, ook om "
        "in te springen (vervang de tab door spaties) [YAML: bij het zoeken naar het volgende "
        "teken: vond teken '\\t', waarmee niets kan beginnen]",
        "x: a: b\n": f"actions.yaml:{line}:5: een tweede ': ' op deze regel; zet de hele waarde "
        "tussen aanhalingstekens",
        'x: "open\n': f"actions.yaml:{line}:4: het aanhalingsteken dat hier opent wordt niet "
        "gesloten",
        "x: [a, b\n": f"actions.yaml:{line}:4: de '[' die hier opent wordt niet gesloten met ']'",
        "sender: a@example.org\n": f"actions.yaml:{line}:1: dubbele sleutel 'sender'",
        "x: !!python/object y\n": f"actions.yaml:{line}:4: geen geldige YAML: onbekende tag",
    }
    for tail, dutch in broken.items():
        # elsewhere, named by --actions: its own `locale: nl` speaks, not ./actions.yaml's
        (examples / "actions.yaml").write_text(text + tail, encoding="utf-8")
        ran = run_cli("validate", cwd=examples, env=AS_CONFIGURED)
        assert ran.returncode != 0
        assert dutch in ran.stderr, (tail, ran.stderr)
    # English keeps PyYAML's own words in the brackets
    (examples / "actions.yaml").write_text(text + "x:\n\tb: 1\n", encoding="utf-8")
    ran = run_cli("validate", cwd=examples)
    assert "[YAML: while scanning for the next token: found character '\\t' that" in ran.stderr


def test_a_broken_file_named_by_actions_speaks_its_own_language(tmp_path: Path) -> None:
    (tmp_path / "site.yaml").write_text("locale: nl\nsender: [a, b\nx: 1\n", encoding="utf-8")
    ran = run_cli("validate", "--actions", "site.yaml", cwd=tmp_path, env=AS_CONFIGURED)
    assert ran.returncode != 0
    assert "site.yaml:2:9: de '[' die hier opent wordt niet gesloten" in ran.stderr, ran.stderr


def test_the_checks_of_actions_yaml_read_in_dutch(examples: Path) -> None:
    actions = examples / "actions.yaml"
    text = actions.read_text(encoding="utf-8")
    first_id = next(line for line in text.splitlines() if line.startswith("  - id: "))
    sender = next(line for line in text.splitlines() if line.startswith("sender:"))
    twice = (
        f"{first_id}\n    name: x\n    email_template: x\n    timing: {{after: requirements_met}}\n"
    )
    actions.write_text(
        text.replace(sender, "sender: Bureau, Opleidingen <info@example.org>, b@example.org")
        .replace("actions:\n", "actions:\n" + twice, 1),
        encoding="utf-8",
    )  # fmt: skip
    ran = run_cli("validate", cwd=examples, env=AS_CONFIGURED)
    assert ran.returncode != 0
    assert (
        "geen e-mailadres: 'Bureau': de afzender is één adres, Naam <adres>; een naam met een "
        'komma staat tussen dubbele aanhalingstekens: \'"Bureau, Opleidingen" <info@' in ran.stderr
    ), ran.stderr
    assert "timing.after 'requirements_met' heeft een voorwaarde 'yes' nodig" in ran.stderr
    folder = run_cli("validate", "--actions", "examples", cwd=examples, env={"CERTIFY_LANG": "nl"})
    assert "examples is een map; --actions neemt het bestand actions.yaml" in folder.stderr


def test_template_problems_read_in_dutch(examples: Path) -> None:
    templates = examples / "templates"
    certificate = templates / "certificate.txt.j2"
    certificate.write_text(
        certificate.read_text(encoding="utf-8") + "{{ person.nmae }} [Persoon:Naam]\n",
        encoding="utf-8",
    )
    proof = templates / "proof_of_participation.en.txt.j2"
    proof.write_text(proof.read_text(encoding="utf-8") + "{{ course.name }\n", encoding="utf-8")
    html = templates / "proof_of_participation.html.j2"
    html.write_text(html.read_text(encoding="utf-8") + "{% if course.name %}\n", "utf-8")
    (templates / "certificate.xx1.txt.j2").write_text("---\nsubject: x\n---\n", "utf-8")
    ran = run_cli("validate", cwd=examples, env=AS_CONFIGURED)
    assert ran.returncode != 0
    err = ran.stderr
    for dutch in (
        "certificate.txt.j2:", ": onbekende variabele 'person.nmae' (bekend: id, first_name",
        ": onbekend samenvoegveld [Persoon:Naam]; bedoelt u '[Persoon:NaamVolledig]'? (bekend: "
        "[Opleiding:Naam]",
        "proof_of_participation.en.txt.j2:", ": onverwachte '}'",
        "proof_of_participation.html.j2:",
        ": het sjabloon houdt op voordat het blok 'if' gesloten is (met 'elif' of 'else' of 'endif')",
    ):  # fmt: skip
        assert dutch in err, (dutch, err)
    for english in ("unknown variable", "unexpected '}'", "Unexpected end of template"):
        assert english not in err, english
    # English: Jinja's own words
    ran = run_cli("validate", cwd=examples)
    assert "Unexpected end of template. Jinja was looking for the following tags:" in ran.stderr


def test_a_delivery_s_error_and_history_keep_the_language_they_were_written_in(
    switched_on: Path,
) -> None:
    template = switched_on / "templates" / "certificate.txt.j2"
    template.write_text(
        template.read_text(encoding="utf-8") + "{{ person.extra.werkgever }}\n", "utf-8"
    )
    ran = run_cli("run-due", "--now", DEMO_NOW, *TO_OUTBOX, cwd=switched_on, env=AS_CONFIGURED)
    assert ran.returncode != 0
    assert "tegengehouden door een sjabloonfout 4" in ran.stdout, ran.stdout
    line = len(template.read_text(encoding="utf-8").splitlines())  # the line appended
    held = f"niet verzonden: {template}:{line}: person.extra heeft geen kolom 'werkgever'"
    explain = ("explain", "--person", "P001", "--course", "VCA-2611", "--now", DEMO_NOW)
    said = " ".join(run_cli("--lang", "en", *explain, cwd=switched_on).stdout.split())
    # written in Dutch, read later in English: the text as stored, the advice still found
    assert f"last error: {held}" in said, said
    assert "settle: fix the template (certify validate --db ...); the next run sends it" in said
    mark = ("mark", "certificate", "--course", "VCA-2611", "--person", "P001")
    ran = run_cli(*mark, "--as", "failed", "--reason", "kapot", cwd=switched_on, env=AS_CONFIGURED)
    assert ran.returncode == 0, ran.stderr
    said = " ".join(run_cli(*explain, cwd=switched_on, env=AS_CONFIGURED).stdout.split())
    assert "met de hand gemarkeerd (was wacht op verzending): kapot" in said, said
    # the states of its history in the language shown, the details as they were written
    assert "2026-11-20 10:00 geclaimd 2026-11-20 10:00 wacht op verzending (niet verzonden: " in (
        said
    ), said
    retry = ("retry", "--state", "failed", "--reason", "opnieuw proberen")
    assert run_cli(*retry, cwd=switched_on, env=AS_CONFIGURED).returncode == 0
    said = " ".join(run_cli(*explain, cwd=switched_on, env=AS_CONFIGURED).stdout.split())
    assert "opnieuw (was mislukt): opnieuw proberen" in said, said


def test_a_certificate_layout_s_problems_read_in_dutch(examples: Path) -> None:
    layout = examples / "templates" / "certificate.pdf.yaml"
    text = layout.read_text(encoding="utf-8")
    layout.write_text(
        text.replace('accent: "#b08d3c"', "accent: goud").replace("logo.png", "logo2.png"),
        encoding="utf-8",
    )
    ran = run_cli("validate", cwd=examples, env=AS_CONFIGURED)
    assert ran.returncode != 0
    assert "certificate.pdf.yaml:7:9: 'goud' is geen kleur (#rrggbb, zoals #b08d3c)" in ran.stderr
    layout.write_text(text.replace("size: 14,", "size: groot,", 1), encoding="utf-8")
    ran = run_cli("validate", cwd=examples, env=AS_CONFIGURED)
    assert "certificate.pdf.yaml:10:47: 'size': moet een getal zijn" in ran.stderr, ran.stderr
    layout.write_text(text.replace("logo.png", "logo2.png"), encoding="utf-8")
    ran = run_cli("validate", cwd=examples, env=AS_CONFIGURED)
    assert "certificate.pdf.yaml: afbeelding 'logo2.png' niet gevonden naast de opmaak" in (
        ran.stderr
    ), ran.stderr


def test_the_operating_system_s_reason_reads_in_dutch(switched_on: Path) -> None:
    out = ("--transport", "dir", "--out", "actions.yaml/outbox")
    ran = run_cli("run-due", "--now", DEMO_NOW, *out, cwd=switched_on, env=AS_CONFIGURED)
    assert ran.returncode != 0
    assert "kan de uitvoermap actions.yaml/outbox niet maken: Is geen map" in ran.stderr
    ran = run_cli("run-due", "--now", DEMO_NOW, *out, cwd=switched_on)
    assert "Not a directory" in ran.stderr, ran.stderr
