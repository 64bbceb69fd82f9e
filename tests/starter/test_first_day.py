"""A Dutch administrator's first day: `certify init --locale nl`, a flat cp1252 export as a
Dutch training system writes it, the kit's `import:` section switched on, and the slips
made on the way, each read in Dutch with the place and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import run_cli

# the language of the kit's actions.yaml decides: no --lang, no CERTIFY_LANG
AS_CONFIGURED = {"CERTIFY_LANG": ""}

HEADERS = (
    "Opleidingscode;Naam opleiding;Opleidingstype;Status opleiding;Startdatum;Einddatum;"
    "Onderdeel;Aanwezigheid verplicht;Examen;Relatienummer;Voornaam;Tussenvoegsel;"
    "Achternaam;E-mailadres;Status inschrijving;Aanwezig;Resultaat"
)
ROWS = (
    "VCA-1;VCA Basis;VCA;Definitief;10-11-2026;12-11-2026;Dag 1;Ja;Nee;R1;Zoë;de;Vries;"
    "zoe@example.nl;Ingeschreven;Ja;",
    "VCA-1;VCA Basis;VCA;Definitief;10-11-2026;12-11-2026;Examen;Ja;Ja;R1;Zoë;de;Vries;"
    "zoe@example.nl;Ingeschreven;Ja;Voldoende",
)


def switch_on_import(actions: Path, file: str | None = None) -> None:
    """Take the # off the kit's `import:` section, as its comment says to."""
    text = actions.read_text(encoding="utf-8")
    start, end = text.index("# import:"), text.index("\nactions:")
    block = "\n".join(
        line[2:] if line.startswith("# ") else line for line in text[start:end].split("\n")
    )
    if file is not None:
        block = block.replace('"Deelnemers per onderdeel*.xlsx"', f'"{file}"')
    actions.write_text(text[:start] + block + text[end:], encoding="utf-8")


def export(kit: Path, *rows: str) -> None:
    text = "\r\n".join((HEADERS, *rows)) + "\r\n"
    (kit / "exports" / "flat.csv").write_bytes(text.encode("cp1252"))


def certify(kit: Path, *args: str) -> tuple[int, str, str]:
    ran = run_cli(*args, cwd=kit, env=AS_CONFIGURED)
    return ran.returncode, ran.stdout, ran.stderr


@pytest.fixture
def kit(tmp_path: Path) -> Path:
    folder = tmp_path / "kit"
    assert certify(tmp_path, "init", str(folder), "--locale", "nl")[0] == 0
    export(folder, *ROWS)
    return folder


def test_the_kit_s_example_file_name_left_as_it_is_says_where_to_change_it(kit: Path) -> None:
    switch_on_import(kit / "actions.yaml")
    code, _, err = certify(kit, "import", "exports/")
    assert code == 1
    assert "flat: file: 'Deelnemers per onderdeel*.xlsx'" in err, err
    assert "zoals file: 'flat.csv'" in err, err


def test_a_misspelt_column_of_the_flat_file_reads_in_dutch(kit: Path) -> None:
    switch_on_import(kit / "actions.yaml", "flat.csv")
    actions = kit / "actions.yaml"
    actions.write_text(actions.read_text().replace("course_end:", "cours_end:"))
    code, _, err = certify(kit, "validate")
    assert code == 1
    assert "onbekende kolom 'cours_end' van een plat bestand" in err, err
    assert "bedoelt u 'course_end'?" in err and "a flat file" not in err, err


def test_an_impossible_date_in_the_export_is_explained_in_dutch(kit: Path) -> None:
    switch_on_import(kit / "actions.yaml", "flat.csv")
    export(kit, ROWS[0].replace("12-11-2026", "31-02-2026"), ROWS[1])
    code, _, err = certify(kit, "import", "exports/")
    assert code == 1
    assert (
        "exports/flat.csv:2: kolom 'Einddatum' (course_end): kan '31-02-2026' niet lezen als "
        "datum (maand 2 van 2026 heeft 28 dagen, geen 31)"
    ) in err, err
    assert "out of range" not in err


def test_a_misspelt_merge_field_suggests_the_field_meant(kit: Path) -> None:
    template = kit / "templates" / "certificate.txt.j2"
    template.write_text(
        template.read_text().replace("[Persoon:NaamVolledig]", "[Persoon:Naamvolledig]", 1)
    )
    code, _, err = certify(kit, "validate")
    assert code == 1
    assert "certificate.txt.j2:2: onbekend samenvoegveld [Persoon:Naamvolledig]; bedoelt u " in err
    assert "'[Persoon:NaamVolledig]'?" in err, err


def test_from_export_to_a_sent_certificate_everything_reads_in_dutch(kit: Path) -> None:
    actions = kit / "actions.yaml"
    switch_on_import(actions, "flat.csv")
    text = actions.read_text()
    actions.write_text(
        text.replace(
            "    expire_after: 60 days", "    since: 2026-11-01\n    expire_after: 60 days", 1
        )
    )
    assert certify(kit, "import", "exports/")[0] == 0
    code, out, err = certify(
        kit, "run-due", "--transport", "dir", "--out", "outbox", "--now", "13-11-2026 10:00"
    )
    assert code == 0, err
    assert "verzonden 1" in out + err
    assert len(list((kit / "outbox").glob("*.eml"))) == 1
    code, out, _ = certify(kit, "explain", "--person", "zoe")
    assert "Certificaat: sent — verzonden" in out, out
    code, out, _ = certify(kit, "certificates", "list")
    assert out.rstrip("\n").endswith(
        "\tVCA-1\tVCA Basis\t2026-11-13\t2027-11-12\tgeldig\tuitgegeven"
    )
    code, out, _ = certify(kit, "certificates", "list", "--json")
    assert '"state": "valid"' in out and '"source": "issued"' in out, out
    code, out, err = certify(kit, "report", "--out", "rapport.html", "--now", "13-11-2026 10:00")
    assert code == 0, err
    page = (kit / "rapport.html").read_text()
    assert "vrijdag 13 november 2026" in page
    assert "Friday" not in page and " Nov " not in page


def test_a_first_dry_run_on_past_courses_says_how_to_send_them_after_all(kit: Path) -> None:
    switch_on_import(kit / "actions.yaml", "flat.csv")
    assert certify(kit, "import", "exports/")[0] == 0
    code, out, err = certify(kit, "run-due", "--dry-run")
    assert code == 0, err
    assert "nog niet ingeschakeld: Certificaat" in out and "overgeslagen 1" in out, out
    assert "tip: wat aan de beurt was voordat een actie ingeschakeld is" in err, err
    assert "zet since: in de actie in actions.yaml op een datum ervoor" in err, err


def test_validate_warns_of_a_missing_time_zone_before_import_refuses(kit: Path) -> None:
    actions = kit / "actions.yaml"
    text = actions.read_text()
    actions.write_text(text.replace("timezone: Europe/Amsterdam", "# timezone:", 1))
    code, out, err = certify(kit, "validate")
    assert code == 0 and "actions.yaml: in orde" in out, err
    assert "waarschuwing: actions.yaml: geen timezone: run-due leest lokale tijden" in err, err
    assert "zet bovenaan timezone: Europe/Amsterdam" in err, err
    # and a kit that has one hears nothing of it
    actions.write_text(text)
    assert certify(kit, "validate")[2] == ""


def test_a_mapped_header_the_export_lacks_names_where_actions_yaml_maps_it(kit: Path) -> None:
    actions = kit / "actions.yaml"
    switch_on_import(actions, "flat.csv")
    text = actions.read_text().replace("course_end: Einddatum", "course_end: Eind datum")
    actions.write_text(text)
    line = text[: text.index("course_end: Eind datum")].count("\n") + 1
    code, _, err = certify(kit, "import", "exports/")
    assert code == 1
    assert "exports/flat.csv:1: kolom 'course_end' is gekoppeld aan kolomkop 'Eind datum'" in err
    assert f"; pas het aan in actions.yaml:{line}:19; bedoelt u 'Einddatum'?" in err, err


def test_a_dutch_word_where_actions_yaml_takes_an_english_one_is_pointed_to_it(kit: Path) -> None:
    actions = kit / "actions.yaml"
    text = actions.read_text()
    actions.write_text(
        text.replace("unit: days ", "unit: dagen", 1)
        .replace("expire_after: 60 days", "expire_after: 60 dagen", 1)
        .replace("execution: automatic ", "execution: handmatig", 1)
    )
    code, _, err = certify(kit, "validate")
    assert code == 1
    assert "onbekende unit 'dagen' (hours, days, weeks, months, years); bedoelt u 'days'?" in err
    assert "onbekende eenheid 'dagen' (hours, days, weeks, months, years); bedoelt u 'days'?" in err
    assert "onbekende execution 'handmatig' (automatic, manual); bedoelt u 'manual'?" in err, err
