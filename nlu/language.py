"""Indonesian or English? The one language detector of pustakabot.

Pure Python with no third-party imports, so the app runtime (gateway, knowledge base, answer
engine) and the Rasa runtime (:class:`nlu.components.language.LanguageDetector`) share it.

A message is scored by counting marker words of each language: function words, question words
and the library's everyday vocabulary, including chat spellings ("gmn", "brp", "ga", "min").
Words both languages use in chat ("online", "ebook", "wifi", "ok", "free", "member", "admin") count for
neither, so "ok" or "👍" gives no signal and code-mixed messages go to the side with more markers.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

Language = Literal["id", "en"]

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_REPEATS = re.compile(r"([a-z])\1{2,}")

ENGLISH_WORDS = frozenset(
    """
    the a an is are was were be been am isn't aren't do does did don't doesn't didn't done
    i i'm i'd i've me my mine we our us you your you're it it's its this that these those
    there here what what's when where which who whom whose how why can can't could would
    should will won't shall may might must have has had having please thanks thank hello hi
    hey bye goodbye yes no not of to for in on at with without about from by after before if
    and or but any some much many more than want need like get got tell show let talk speak
    someone somebody anyone person human librarian complaint cancel back open opening opens
    close closed closes hours time library libraries book books borrow borrowing return renew
    card membership fine fines late event events today tomorrow tonight weekend week
    monday tuesday wednesday thursday friday saturday sunday available copy copies find
    search author written read cost price fee sorry
    """.split()
)

INDONESIAN_WORDS = frozenset(
    """
    ada apa apakah apaan yang yg di ke dari dan atau ato saya sy aku aq gue gw gua ak kamu kmu
    km lu lo anda kita kami min mimin kak kakak ka kk bang mas mbak bu pak gimana bagaimana
    gmn gmna gimna bgmn gmana berapa brp brpa brapa tidak tdk ga gak gk nggak ngga nggk ngak
    enggak engga kagak tak bukan bkn belum blm blum sudah udah udh sdh dah mau mo mw ingin
    pengen pgn pingin bisa bs bsa boleh tolong tlg minta terima kasih makasih makasi mksh
    trims terimakasih perpus perpusda perpustakaan pustaka pinjam minjam minjem pinjem
    meminjam peminjaman kembali mengembalikan pengembalian balikin kartu anggota daftar denda
    acara kegiatan hari ini itu besok bsk kemarin kmrn minggu mggu sabtu senin selasa rabu
    kamis jumat jum'at ahad karya karangan tentang ttg judul penulis pengarang dong nih sih
    deh kah ya iya yaa halo hai selamat pagi siang sore malam petugas pustakawan manusia
    orang bicara ngobrol sambungkan hubungkan kapan kpn dimana dmn mana kalau kalo klo
    untuk utk buat dengan dgn sama sm juga jg aja saja lagi lg tersedia dipinjam buka tutup
    jam buku bukunya cara harus hrs pakai pake gratis bayar biaya sekarang skrg masih msh
    kenapa knp mengapa tapi tp karena krn lebih banyak gitu gini cari nyari carikan
    """.split()
)


def _words(text: str) -> list[str]:
    """Lower-case ASCII words, accents stripped, "bukaaa" squeezed to "buka"."""
    text = text.replace("\u2019", "'")  # typographic apostrophe ("don’t") before ASCII folding
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return _WORD.findall(_REPEATS.sub(r"\1", text))


def detect_language(text: str) -> Language | None:
    """The language ``text`` is written in, or None when it gives no clear signal.

    Args:
        text: a patron's message (or a FAQ question, a button title).

    Returns:
        ``"en"`` or ``"id"`` for the language with more marker words; None on a tie, including
        a message with no marker words at all ("ok", "laskar pelangi", "👍").
    """
    words = _words(text)
    english = sum(word in ENGLISH_WORDS for word in words)
    indonesian = sum(word in INDONESIAN_WORDS for word in words)
    if english > indonesian:
        return "en"
    if indonesian > english:
        return "id"
    return None


def language_of(text: str, default: Language = "id") -> Language:
    """The language of ``text``, or ``default`` when it gives no clear signal."""
    return detect_language(text) or default


def is_english(text: str) -> bool:
    """Whether ``text`` clearly reads as English (no signal counts as not English)."""
    return detect_language(text) == "en"
