"""The serving-only DIET loader parses exactly like Rasa's own loader.

The stack's Rasa server loads the shipped model with :class:`nlu.components.diet.LeanDIET`;
a separate ``.venv-rasa`` process loads the same model file with Rasa's ``RasaModel.load``.
(How much memory each holds is a benchmark figure: ``benchmarks/nlu_lean_load.py``.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from benchmarks.nlu_lean_load import HELDOUT, heldout_texts, load_in_child, result

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def test_served_lean_model_parses_like_rasas_own_loader(stack) -> None:  # noqa: ANN001
    model = max((ROOT / "models").glob("pustakabot-*.tar.gz"), key=lambda p: p.stat().st_mtime)
    texts = heldout_texts(HELDOUT)[::4]  # every intent of the held-out set, a quarter of its lines
    rasas_loader = load_in_child("rasa", model, texts)
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
    assert served == result(rasas_loader)["parses"]
