"""The one language detector (nlu/language.py), shared by the app and the Rasa runtime."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import nlu.language
from nlu.language import detect_language, is_english, language_of


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Indonesian, standard and chat spellings
        ("jam buka perpustakaan?", "id"),
        ("ada buku laskar pelangi?", "id"),
        ("saya mau bicara dengan petugas", "id"),
        ("kapan perpus buka?", "id"),
        ("gmn cara daftar anggota", "id"),
        ("brp dendanya kalo telat", "id"),
        ("ga ada ya", "id"),
        ("min", "id"),
        ("min perpus buka jam brp?", "id"),
        ("ada buku bumi ga", "id"),
        ("bukaaa jam brp??", "id"),
        ("makasih kak", "id"),
        ("hari jum'at buka?", "id"),
        ("Apakah bisa pinjam buku2 anak?", "id"),
        # English, including short questions
        ("what time do you open?", "en"),
        ("what time does the library open?", "en"),
        ("when do you open?", "en"),
        ("is it free", "en"),
        ("hi", "en"),
        ("hello", "en"),
        ("do you have laskar pelangi?", "en"),
        ("can i talk to a person", "en"),
        ("How much is the late fine?", "en"),
        ("I don\u2019t have a card", "en"),
        ("Thanks!", "en"),
        ("no", "en"),
        ("any events this weekend?", "en"),
        ("hello admin", "en"),
        # code-mixed: the side with more marker words wins
        ("kak, do you have laskar pelangi?", "en"),
        ("min, ada ebook english grammar ga?", "id"),
        ("jam buka library hari sabtu?", "id"),
        ("apakah free?", "id"),
        ("admin manusia dong", "id"),
        ("pengen perpus punya the midnight library", None),
        # no signal: neutral words, titles, emoji, ties
        ("ok", None),
        ("laskar pelangi", None),
        ("\U0001f44d", None),
        ("", None),
        ("sorry min", None),
        ("hi kak", None),
    ],
)
def test_detect_language(text: str, expected: str | None) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize(
    ("text", "default", "expected"),
    [
        ("ok", "id", "id"),
        ("ok", "en", "en"),
        ("is it free", "id", "en"),
        ("gratis ga", "en", "id"),
    ],
)
def test_language_of_falls_back_to_the_default(text: str, default: str, expected: str) -> None:
    assert language_of(text, default) == expected  # type: ignore[arg-type]


def test_is_english_needs_a_clear_signal() -> None:
    assert is_english("where is the library?")
    assert not is_english("dimana perpustakaannya?")
    assert not is_english("ok")


def test_the_module_has_no_third_party_imports() -> None:
    # Both runtimes import it: the app (Python 3.11) and Rasa (Python 3.10).
    tree = ast.parse(Path(nlu.language.__file__).read_text(encoding="utf-8"))
    modules = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    } | {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert modules <= {"__future__", "re", "unicodedata", "typing"}
