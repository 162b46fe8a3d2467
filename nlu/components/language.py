"""Per-message language detection (Indonesian / English) as a Rasa NLU component.

Adds an entity ``language`` (``id`` or ``en``) to every message that gives a clear signal, so
the ``language`` slot follows the patron; a message without a signal ("ok", "👍") keeps the slot.
"""

from __future__ import annotations

import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

_WORD = re.compile(r"[a-zA-Z']+")

ENGLISH = frozenset(
    """the is are was do does did you your have has what when where which who how why can could
    would will please thanks thank hello hi hey any there book books open opening hours library
    borrow return card member membership fine fines late event events today tomorrow weekend
    i my me we our a an of to for in on at with about available copy copies want need talk
    person human staff librarian bye goodbye yes no not it this that get find search author
    written by ebook ebooks online read close closed sunday saturday monday friday much""".split()
)
INDONESIAN = frozenset(
    """ada apa apakah buku bukunya jam buka tutup yang di ke dari dan atau saya aku gue gw min
    kak kakak gimana bagaimana gmn berapa brp tidak ga gak nggak enggak mau bisa bs tolong
    terima kasih makasih perpus perpustakaan pinjam minjam kembali kartu anggota denda acara
    kegiatan hari ini besok minggu sabtu senin karya karangan tentang judul penulis dong nih
    ya iya halo hai selamat pagi siang sore malam petugas pustakawan manusia admin sudah belum
    kapan dimana mana kalau kalo untuk utk dengan sama juga aja saja lagi tersedia dipinjam""".split()
)


def detect_language(text: str) -> str | None:
    """Return ``"en"``, ``"id"`` or ``None`` when the text gives no clear signal."""
    words = [w.lower() for w in _WORD.findall(text)]
    en = sum(1 for w in words if w in ENGLISH)
    ind = sum(1 for w in words if w in INDONESIAN)
    if en == 0 and ind == 0:
        return None
    if en > ind:
        return "en"
    if ind > en:
        return "id"
    return None


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False
)
class LanguageDetector(GraphComponent):
    """Marks each message with the patron's language as a ``language`` entity."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageDetector:
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            lang = detect_language(text)
            if lang is None:
                continue
            entities = list(message.get(ENTITIES, []))
            entities.append(
                {
                    "entity": "language",
                    "value": lang,
                    "start": 0,
                    "end": len(text),
                    "extractor": self.__class__.__name__,
                }
            )
            message.set(ENTITIES, entities, add_to_output=True)
        return messages
