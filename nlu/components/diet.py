"""Rasa's DIET classifier, loaded for serving only.

Rasa's ``RasaModel.load`` rebuilds a trained model by compiling it with an Adam optimizer and
*training it for one step* on an example batch, only to create variables of the right shape,
then overwrites them from the checkpoint. That traces the whole training graph (gradients of
the transformer and the CRF) and allocates the optimizer's slots: about 540 MB of the NLU
server's 1.3 GB, for a process that only ever predicts (measured in ``benchmarks/RESULTS.md``,
issue 13, with ``benchmarks/nlu_lean_load.py``).

:class:`LeanDIETClassifier` trains exactly as ``DIETClassifier`` does (same code, same weights)
and, when loaded for prediction, creates the variables with one eager forward pass of the
loss instead (no optimizer, no gradient tape, no traced training step), restores the trained
weights, and traces the prediction step once. Predictions are identical: the benchmark compares
every held-out message's intent ranking and entities with Rasa's own loader. Fine-tuning
(``rasa train --finetune``) needs the optimizer, so it keeps Rasa's loader.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.diet_classifier import DIET, DIETClassifier
from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator
from rasa.utils.tensorflow.model_data import RasaModelData
from rasa.utils.tensorflow.models import RasaModel


class LeanDIET(DIET):
    """DIET whose ``load`` builds the prediction graph only."""

    @classmethod
    def load(
        cls,
        model_file_name: str,
        model_data_example: RasaModelData,
        predict_data_example: RasaModelData | None = None,
        finetune_mode: bool = False,
        *args: Any,
        **kwargs: Any,
    ) -> RasaModel:
        if finetune_mode:
            return super().load(model_file_name, model_data_example, predict_data_example, finetune_mode, *args, **kwargs)
        model = cls(*args, **kwargs)
        # One eager pass of the loss creates every variable the checkpoint holds (the label
        # embeddings and the CRF included); nothing is traced and no gradient is taken.
        example_batch = RasaBatchDataGenerator(model_data_example, batch_size=1)[0][0]
        model._training = False
        model.batch_loss(example_batch)
        # The checkpoint also holds the optimizer's slots; serving does not restore them.
        model.load_weights(model_file_name).expect_partial()
        if predict_data_example:
            # Traces the prediction step once (as Rasa's loader does), with the trained weights.
            model.run_inference(predict_data_example)
        return model


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR],
    is_trainable=True,
)
class LeanDIETClassifier(DIETClassifier):
    """``DIETClassifier`` with :class:`LeanDIET` as its model: same training, a lighter load."""

    @staticmethod
    def model_class() -> type[RasaModel]:
        return LeanDIET
