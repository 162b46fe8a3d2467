"""Per-message language detection (Indonesian / English) as a Rasa NLU component.

Adds an entity ``language`` (``id`` or ``en``) to every message that gives a clear signal, so
the ``language`` slot follows the patron; a message without a signal ("ok", "👍") keeps the slot.
The detection itself is :func:`nlu.language.detect_language`, shared with the app runtime.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.language import detect_language


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
