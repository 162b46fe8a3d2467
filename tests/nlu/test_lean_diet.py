"""The serving-only DIET loader: identical parses, far less memory than Rasa's loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.nlu_lean_load import HELDOUT, heldout_texts, load_in_child, result

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def test_lean_loader_parses_like_rasas_and_holds_less(stack) -> None:  # noqa: ANN001
    # The stack fixture trained (or found) the shipped model; both loaders read that same file.
    model = max((ROOT / "models").glob("pustakabot-*.tar.gz"), key=lambda p: p.stat().st_mtime)
    texts = heldout_texts(HELDOUT)[::6]  # every intent of the held-out set, a sixth of its lines
    rasa_proc, lean_proc = load_in_child("rasa", model, texts), load_in_child("lean", model, texts)
    rasa, lean = result(rasa_proc), result(lean_proc)
    assert len(lean["parses"]) == len(texts) > 30
    assert lean["parses"] == rasa["parses"]
    assert {p["intents"][0][0] for p in lean["parses"]} >= {"greet", "search_book", "ask_events"}
    # Rasa's loader keeps the traced training graph and the optimizer: ~0.5 GB more.
    assert lean["rss"]["load"] < rasa["rss"]["load"] - 300
