from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import import_into, rows


@pytest.mark.parametrize("word,value", [("ja", 1), ("J", 1), ("x", 1), ("TRUE", 1), ("1", 1),
                                        ("nee", 0), ("n", 0), ("False", 0), ("0", 0)])  # fmt: skip
def test_dutch_and_english_booleans(
    tmp_path: Path, export: Callable[..., Path], word: str, value: int
) -> None:
    db = tmp_path / "c.db"
    import_into(db, export(attendance=f"part_id,person_id,present\nC1-1,P1,{word}\n"))
    assert rows(db, "SELECT present FROM attendance") == [(value,)]


def test_empty_present_means_not_registered(tmp_path: Path, export: Callable[..., Path]) -> None:
    db = tmp_path / "c.db"
    report = import_into(db, export(attendance="part_id,person_id,present\nC1-1,P1,\nC1-2,P1,ja\n"))
    assert report.counts["attendance"].rows == 1
