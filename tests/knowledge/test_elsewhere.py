"""Questions about another place or library get no library fact (knowledge/elsewhere.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.elsewhere import Elsewhere, load_lexicon
from knowledge.faq import check_folder
from knowledge.faq_search import FaqIndex

ROOT = Path(__file__).resolve().parents[2]
FAQ_TEXTS = ("Jam berapa perpustakaan buka?", "Senin-Jumat 08.00-16.00 WIB.", "Denda Rp500 per hari, bayar di loket.")


@pytest.fixture(scope="module")
def reader() -> Elsewhere:
    return Elsewhere(load_lexicon(), FAQ_TEXTS)


@pytest.mark.parametrize(
    ("question", "named"),
    [
        ("kantor imigrasi buka jam brp kak?", "imigrasi"),
        ("rsud buka hari minggu gak", "rsud"),
        ("kartu atm aku ketelen, gmn gantinya", "atm"),
        ("denda telat bayar listrik pln brp", "pln"),
        ("perpustakaan smp 2 buka sampe jam brp", "perpustakaan smp"),
        ("perpus di sekolah aku tutup jam brp ya", "perpustakaan sekolah"),
        ("What time does the university library open?", "university library"),
        ("jam buka perpusnas", "perpusnas"),
    ],
)
def test_another_place_or_library_is_named(reader: Elsewhere, question: str, named: str) -> None:
    assert reader.named(question) == named


@pytest.mark.parametrize(
    "question",
    [
        "perpus buka jam brp?",
        "perpus deket pasar ya kak?",  # a landmark
        "nomor telpon kantor perpus brp",  # the library's own office
        "aku baru turun dari kereta, perpus jauh ga dari stasiun?",  # the patron's whereabouts
        "ada buku tentang sejarah kereta api?",  # a topic
        "anak sd boleh jadi anggota?",  # a school level, not another library
        "mahasiswa boleh pinjam buku?",
        "bisa perpanjang pinjaman online?",  # the library's own loans
        "ada mesin pinjam mandiri gak?",
        "boleh bawa kereta bayi ke dalam?",
    ],
)
def test_the_library_itself_is_not_elsewhere(reader: Elsewhere, question: str) -> None:
    assert reader.named(question) is None


def test_a_place_the_librarys_own_faq_names_is_the_librarys_word() -> None:
    plain = Elsewhere(load_lexicon(), FAQ_TEXTS)
    paying = Elsewhere(load_lexicon(), (*FAQ_TEXTS, "Denda bisa dibayar lewat transfer bank."))
    assert plain.named("bayar denda bisa lewat bank?") == "bank"
    assert paying.named("bayar denda bisa lewat bank?") is None


def test_no_faq_entry_is_sure_of_a_question_about_another_office() -> None:
    items, _ = check_folder(ROOT / "knowledge" / "faq")
    index = FaqIndex(items)
    library = index.search("perpus buka jam brp?", limit=2)
    assert library[0].item.id == "jam-buka" and library[0].sure is not False and library[0].elsewhere is None
    office = index.search("kantor imigrasi buka jam brp?", limit=2)
    assert office[0].sure is False and office[0].elsewhere == "imigrasi"
