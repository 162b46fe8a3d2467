"""The Indonesian chat normaliser (pure part) and the slang file it shares with knowledge/."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge import text as ktext
from nlu.normalization.normalize import SLANG_FILE, Normalizer, load_slang, make_stemmer


@pytest.fixture(scope="module")
def plain() -> Normalizer:
    return Normalizer(load_slang())


@pytest.fixture(scope="module")
def stemming() -> Normalizer:
    return Normalizer(load_slang(), make_stemmer())


@pytest.mark.parametrize(
    ("chat", "standard"),
    [
        ("gmn", "bagaimana"),
        ("brp", "berapa"),
        ("gak", "tidak"),
        ("ga", "tidak"),
        ("nggak", "tidak"),
        ("yg", "yang"),
        ("utk", "untuk"),
        ("bs", "bisa"),
        ("min", "admin"),
        ("kak", "kakak"),
        ("perpus", "perpustakaan"),
        ("gpp", "tidak apa apa"),
        ("GMN?", "bagaimana"),
    ],
)
def test_slang_and_abbreviations(plain: Normalizer, chat: str, standard: str) -> None:
    assert plain.word(chat) == standard


def test_repeated_letters_and_reduplication(plain: Normalizer) -> None:
    assert plain.word("bukaaa") == "buka"
    assert plain.word("halooo") == "halo"
    assert plain.word("maaf") == "maaf"  # two letters are Indonesian spelling, not emphasis
    assert plain.word("buku2") == "buku"
    assert plain.word("buku-buku") == "buku"
    assert plain.word("gmnnn") == "bagaimana"  # squeezed, then looked up
    assert plain.word("2") == "2"
    assert plain.word("...") == ""


def test_whole_message(plain: Normalizer) -> None:
    assert plain.text("min perpus bukaaa jam brp?") == "admin perpustakaan buka jam berapa"


def test_stemming_is_optional(plain: Normalizer, stemming: Normalizer) -> None:
    assert plain.word("peminjaman") == "peminjaman"
    assert stemming.word("peminjaman") == "pinjam"
    assert stemming.text("gmn cara perpanjangan") == "bagaimana cara panjang"


def test_librarians_can_extend_the_dictionary(tmp_path: Path) -> None:
    path = tmp_path / "slang.tsv"
    path.write_text("# komentar\n\nbkn\tbukan\nmasi\tmasih ada\n", encoding="utf-8")
    table = load_slang(path)
    assert table == {"bkn": "bukan", "masi": "masih ada"}
    assert Normalizer(table).text("bkn masi") == "bukan masih ada"


def test_a_broken_line_is_reported_with_its_number(tmp_path: Path) -> None:
    path = tmp_path / "slang.tsv"
    path.write_text("gmn\tbagaimana\nbrp berapa\n", encoding="utf-8")
    with pytest.raises(ValueError, match="slang.tsv:2"):
        load_slang(path)


def test_shipped_dictionary_parses_and_feeds_faq_retrieval() -> None:
    table = load_slang(SLANG_FILE)
    assert len(table) >= 100
    assert ktext.SLANG_FILE.resolve() == SLANG_FILE.resolve()
    assert dict(ktext.load_slang()) == table
    assert ktext.words("gmn cara bikin kartu") == ["bagaimana", "cara", "buat", "kartu"]
    assert ktext.words("gpp") == ["tidak", "apa", "apa"]
