"""Librarians' FAQ files: validation messages with file:line, live reload, last good version."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from click.testing import CliRunner

from bot.cli import main
from knowledge.faq import FaqStore, check_folder

ROOT = Path(__file__).resolve().parents[2]
GOOD = """faqs:
  - id: jam-buka
    questions:
      - Jam berapa buka?
      - perpus buka jam brp?
    answer: Buka pukul 08.00 WIB.
    tags: [jam]
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def bump(path: Path) -> None:
    """Make sure the modification time moves even on coarse clocks."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


def test_shipped_faq_files_are_valid_and_plenty() -> None:
    items, problems = check_folder(ROOT / "knowledge" / "faq")
    assert problems == []
    assert len(items) >= 25
    ids = {i.id for i in items}
    assert {"jam-buka", "jam-buka-ramadan", "denda-keterlambatan", "cara-daftar-anggota"} <= ids


def test_problems_name_file_and_line_in_indonesian(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.yml",
        """faqs:
  - id: satu
    questions: [Apa]
    answer: ""
  - id: Dua Kata
    questions: []
    answer: Ya.
    warna: merah
  - id: satu
    questions: [Lagi]
    answer: Lagi.
""",
    )
    write(tmp_path, "b.yml", "faqs:\n  - id: tiga\n    questions: [Hai]\n    answer: Hai.\n")
    write(tmp_path, "c.yml", "faqs:\n  - id: tiga\n    questions: [Hai lagi]\n    answer: Hai juga.\n")
    write(tmp_path, "d.yml", "faqs:\n  - id: rusak\n    questions: [a\n")
    _, problems = check_folder(tmp_path)
    text = "\n".join(str(p) for p in problems)
    assert "a.yml:4: jawaban (`answer`) entri `satu` kosong" in text
    assert "a.yml:5: id `Dua Kata` hanya boleh berisi huruf kecil" in text
    assert "a.yml:6: entri `Dua Kata` harus punya minimal satu pertanyaan" in text
    assert "a.yml:8: kunci `warna` tidak dikenal" in text
    assert "a.yml:9: id `satu` sudah dipakai di baris 2" in text
    assert "c.yml:2: id `tiga` sudah dipakai di b.yml:2" in text
    assert any(p.file == "d.yml" and "format YAML tidak valid" in p.message for p in problems)


def test_cli_faq_check_reports_and_fails(tmp_path: Path) -> None:
    runner = CliRunner()
    write(tmp_path, "ok.yml", GOOD)
    result = runner.invoke(main, ["faq", "check", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "1 entri FAQ valid" in result.output
    write(tmp_path, "bad.yml", "faqs:\n  - id: x\n    answer: Y\n")
    result = runner.invoke(main, ["faq", "check", str(tmp_path)])
    assert result.exit_code != 0
    assert "bad.yml:2: entri `x` tidak punya `questions`" in result.output


def test_store_reloads_changes_and_keeps_the_last_good_version(tmp_path: Path) -> None:
    path = write(tmp_path, "jam.yml", GOOD)
    store = FaqStore(tmp_path, check_interval=0)
    assert store.entries()[0].answer == "Buka pukul 08.00 WIB."
    version = store.version
    path.write_text(GOOD.replace("08.00", "09.00"), encoding="utf-8")
    bump(path)
    assert store.entries()[0].answer == "Buka pukul 09.00 WIB."
    assert store.version == version + 1
    # Broken file: rejected, the previous content keeps serving.
    path.write_text("faqs:\n  - id: jam-buka\n    questions: [x]\n", encoding="utf-8")
    bump(path)
    assert store.entries()[0].answer == "Buka pukul 09.00 WIB."
    # A new file that steals an existing id is rejected too.
    write(tmp_path, "lain.yml", GOOD.replace("09.00", "10.00"))
    assert [e.answer for e in store.entries()] == ["Buka pukul 09.00 WIB."]
    # Removing a file removes its entries.
    path.unlink()
    (tmp_path / "lain.yml").unlink()
    assert store.entries() == []


def test_store_checks_the_folder_at_most_once_per_interval(tmp_path: Path) -> None:
    path = write(tmp_path, "jam.yml", GOOD)
    store = FaqStore(tmp_path, check_interval=60)
    path.write_text(GOOD.replace("08.00", "11.00"), encoding="utf-8")
    bump(path)
    assert store.entries()[0].answer == "Buka pukul 08.00 WIB."
    assert store.refresh(force=True) is True
    assert store.entries()[0].answer == "Buka pukul 11.00 WIB."


def test_shipped_files_copy_round_trip(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "knowledge" / "faq", tmp_path / "faq")
    started = time.monotonic()
    store = FaqStore(tmp_path / "faq")
    assert len(store.entries()) >= 25
    assert time.monotonic() - started < 5
