"""The learning curve read from an Ultralytics ``results.csv``."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.main import main
from training.curve import COLUMNS, curve_markdown, read_curve

HEADER = "epoch,time," + ",".join(COLUMNS) + ",lr/pg0"


def _write(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def test_curve_table(tmp_path: Path) -> None:
    # Ultralytics pads its columns with spaces in some versions; both forms read the same.
    path = _write(
        tmp_path / "results.csv",
        ["1,900,1.7,4.5,1.6,3.0,0.5,0.3,0.35,0.2,0.01", "2, 1800, 1.6, 3.9, 1.5, 2.5, 0.6, 0.4, 0.45, 0.3, 0.005"],
    )
    epochs = read_curve(path)
    assert [(e.epoch, e.hours) for e in epochs] == [(1, 0.25), (2, 0.5)]
    table = curve_markdown(epochs)
    assert table.splitlines()[0].startswith("| epoch | hours | train box loss")
    assert "| 2 | 0.50 | 1.600 | 3.900 | 1.500 | 2.500 | 0.600 | 0.400 | **0.450** | 0.300 |" in table
    assert "| 1 | 0.25 |" in table and "**0.350**" not in table


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HEADER + "\n", "no epoch recorded"),
        ("epoch,time,metrics/mAP50(B)\n1,2,0.3\n", "missing"),
        (HEADER + "\n1,900,x,4.5,1.6,3.0,0.5,0.3,0.35,0.2,0.01\n", "unreadable number"),
    ],
)
def test_bad_results(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "results.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_curve(path)


def test_cli_curve(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(tmp_path / "results.csv", ["1,900,1.7,4.5,1.6,3.0,0.5,0.3,0.35,0.2,0.01"])
    assert main(["curve", str(tmp_path)]) == 0
    assert "| 1 | 0.25 |" in capsys.readouterr().out
    assert main(["curve", str(tmp_path / "missing")]) == 2
    assert "results.csv" in capsys.readouterr().err
