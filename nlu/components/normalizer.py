"""Indonesian chat normalisation as a Rasa NLU component (runs after the tokenizer).

The message text and the token offsets stay as the patron wrote them (entity spans keep
pointing at the original words); each token's ``lemma`` becomes its standard form, which the
``CountVectorsFeaturizer`` uses (``use_lemma`` is on by default). So "gmn", "gimana" and
"bagaimana" become one feature, "bukaaa" is "buka", "buku2" is "buku", and with
``stem: true`` "peminjaman" is "pinjam".

Config::

    - name: nlu.components.normalizer.IndonesianNormalizer
      slang_file: nlu/normalization/slang.tsv   # optional; default: the shipped file
      stem: false                                # Sastrawi stemming
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.normalization.normalize import SLANG_FILE, Normalizer, load_slang, make_stemmer


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False
)
class IndonesianNormalizer(GraphComponent):
    """Sets each token's lemma to its normalised Indonesian form."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Defaults: the shipped slang file, no stemming."""
        return {"slang_file": None, "stem": False}

    def __init__(self, normalizer: Normalizer) -> None:
        self.normalizer = normalizer

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> IndonesianNormalizer:
        path = Path(config["slang_file"]) if config.get("slang_file") else SLANG_FILE
        stemmer = make_stemmer() if config.get("stem") else None
        return cls(Normalizer(load_slang(path), stemmer))

    def _apply(self, message: Message) -> None:
        for token in message.get(TOKENS_NAMES[TEXT]) or []:
            lemma = self.normalizer.word(token.text)
            token.lemma = lemma or token.text

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            self._apply(example)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._apply(message)
        return messages
