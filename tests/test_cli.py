"""``gridwatch detect``: the JSONL contract, folders, zip archives, bad files and exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from cli.main import main
from domain.errors import ImageError
from tests.conftest import ROOT, SAMPLES
from vision.sources import iter_sources

PHOTOS = sorted(SAMPLES.glob("*.jpg"))


def run_jsonl(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict[str, Any]]]:
    code = main(["detect", "--format", "jsonl", *args])
    lines = capsys.readouterr().out.splitlines()
    return code, [json.loads(line) for line in lines]


def check_record(rec: dict[str, Any]) -> None:
    """Exactly the documented keys and types, boxes inside the photo."""
    assert set(rec) == {"path", "width", "height", "detections", "texts"}
    assert isinstance(rec["path"], str) and isinstance(rec["width"], int) and isinstance(rec["height"], int)
    assert isinstance(rec["detections"], list)
    for det in rec["detections"]:
        assert set(det) == {"label", "score", "xyxy"}
        assert isinstance(det["label"], str) and 0.0 <= det["score"] <= 1.0
        x1, y1, x2, y2 = det["xyxy"]
        assert 0 <= x1 < x2 <= rec["width"] and 0 <= y1 < y2 <= rec["height"]
    for block in rec["texts"]:  # the text finder's blocks: what was read and how it was judged
        assert set(block) == {"xyxy", "text", "phones", "small_ad", "reasons"}
        assert isinstance(block["text"], str) and isinstance(block["small_ad"], bool)


def test_jsonl_contract_on_a_folder_of_real_photos(capsys: pytest.CaptureFixture[str]) -> None:
    code, records = run_jsonl(capsys, str(SAMPLES))
    assert code == 0
    assert [r["path"] for r in records] == [str(p) for p in PHOTOS]
    for rec in records:
        check_record(rec)
    by_name = {Path(str(r["path"])).name: r for r in records}
    labels = [d["label"] for d in by_name["cyclists_street.jpg"]["detections"]]
    assert labels.count("bicycle") >= 2 and labels.count("person") >= 3
    assert (by_name["spb_facade_street_cars.jpg"]["width"], by_name["spb_facade_street_cars.jpg"]["height"]) == (
        560,
        315,
    )


def test_bad_files_get_error_objects_and_the_rest_still_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "batch"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(PHOTOS[0], folder / "sub" / "good.jpg")
    (folder / "notes.jpg").write_text("this is text, not a photo")
    (folder / "empty.png").write_bytes(b"")
    (folder / "cut.jpg").write_bytes(PHOTOS[1].read_bytes()[:5000])
    (folder / "ignored.txt").write_text("not an image suffix: skipped inside folders")
    code, records = run_jsonl(capsys, str(folder), str(tmp_path / "missing.jpg"))
    assert code == 0
    errors = {Path(str(r["path"])).name: str(r["error"]) for r in records if "error" in r}
    assert set(errors) == {"notes.jpg", "empty.png", "cut.jpg", "missing.jpg"}
    assert "not an image" in errors["notes.jpg"] and "empty" in errors["empty.png"]
    assert "truncated" in errors["cut.jpg"] and "no such file" in errors["missing.jpg"]
    for rec in records:
        if "error" in rec:
            assert set(rec) == {"path", "error"}
        else:
            check_record(rec)
    assert [Path(str(r["path"])).name for r in records if "error" not in r] == ["good.jpg"]


def test_every_file_failing_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff garbage")
    code, records = run_jsonl(capsys, str(bad))
    assert code == 1 and "error" in records[0]


def test_zip_archives(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "patrol.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(PHOTOS[0], "day1/a.jpg")
        zf.write(PHOTOS[1], "../escape.jpg")  # never extracted, only read: the name is just a label
        zf.writestr("readme.txt", "skipped")
        zf.writestr("day1/broken.png", b"\x89PNG\r\n\x1a\n broken")
    code, records = run_jsonl(capsys, str(archive))
    assert code == 0
    assert [r["path"] for r in records] == [
        f"{archive}/../escape.jpg",
        f"{archive}/day1/a.jpg",
        f"{archive}/day1/broken.png",
    ]
    check_record(records[0])
    check_record(records[1])
    assert "error" in records[2]
    assert not (tmp_path.parent / "escape.jpg").exists()


def test_corrupt_zip_is_an_error_object(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04 not really")
    _, records = run_jsonl(capsys, str(bad))
    assert records == [{"path": str(bad), "error": records[0]["error"]}]
    assert "zip" in str(records[0]["error"])


def test_oversized_zip_entry_is_refused_unread(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.jpg", b"\0" * 5_000_000)  # deflates to a few kB
    (src,) = list(iter_sources([archive], max_bytes=1_000_000))
    assert src.read is not None
    with pytest.raises(ImageError, match="too large"):
        src.read()


def test_batching_does_not_change_results(capsys: pytest.CaptureFixture[str]) -> None:
    _, single = run_jsonl(capsys, str(SAMPLES))
    _, batched = run_jsonl(capsys, str(SAMPLES), "--batch", "4")
    assert [r["path"] for r in single] == [r["path"] for r in batched]
    for a, b in zip(single, batched, strict=True):
        # padding to a shared batch shape moves scores a little: a confident box on one side
        # must be found on the other, where it may score just under the confident cut
        for x, y in ((a, b), (b, a)):
            strong = Counter(d["label"] for d in x["detections"] if d["score"] >= 0.5)
            found = Counter(d["label"] for d in y["detections"])
            assert not strong - found, (x["path"], strong, found)


def test_text_output_summarises(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect", str(PHOTOS[0])]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{PHOTOS[0]} (") and out[-1].startswith("1 images, 0 failed; found ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--conf", "1.5"], "between 0 and 1"),
        (["--batch", "0"], "at least 1"),
        (["--class-conf", "car"], "LABEL=SCORE"),
    ],
)
def test_bad_arguments_exit_2(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["detect", str(PHOTOS[0]), *args])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--model", "nowhere.onnx"], "model file not found"), (["--class-conf", "tank=0.3"], "unknown label")],
)
def test_bad_settings_exit_2_with_a_message(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect", str(PHOTOS[0]), *args]) == 2
    assert message in capsys.readouterr().err


def test_console_process_keeps_stdout_clean(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cli.main", "detect", str(SAMPLES), "--format", "jsonl", "--progress"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,  # the text finder reads every photo too; the machine may be busy
        check=True,
    )
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(records) == len(PHOTOS)
    assert f"{len(PHOTOS)}/{len(PHOTOS)}" in proc.stderr  # the progress bar went to stderr
