"""The serving-only DIET loader parses exactly like Rasa's own loader.

The stack's Rasa server loads the shipped model with :class:`nlu.components.diet.LeanDIET`;
a separate ``.venv-rasa`` process loads the same model file with Rasa's ``RasaModel.load``.
(How much memory each holds is a benchmark figure: ``benchmarks/nlu_lean_load.py``.) That process
starts when the first test needing the model runs and loads while the others run (``rasa_reference``
in tests/conftest.py); this test runs last.
"""

from __future__ import annotations

import pytest
import requests

pytestmark = [pytest.mark.e2e, pytest.mark.rasa_reference]


def test_served_lean_model_parses_like_rasas_own_loader(stack, rasa_reference) -> None:  # noqa: ANN001
    texts, rasas_loader = rasa_reference
    served = []
    for text in texts:
        parse = requests.post(f"{stack.rasa_url}/model/parse", json={"text": text},
                              params={"token": stack.rasa_token}, timeout=30).json()
        served.append({
            "intents": [[x["name"], round(x["confidence"], 5)] for x in parse["intent_ranking"][:3]],
            "entities": [[e["entity"], e["value"]] for e in parse["entities"]],
        })
    assert len(served) == len(texts) > 50
    assert {p["intents"][0][0] for p in served} >= {"greet", "search_book", "ask_events", "out_of_scope"}
    assert served == rasas_loader["parses"]
