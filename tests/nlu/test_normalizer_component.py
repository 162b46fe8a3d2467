"""IndonesianNormalizer inside the real Rasa runtime (.venv-rasa, Python 3.10)."""

from __future__ import annotations

import json
import subprocess

import pytest

from bot.settings import ROOT, Settings
from bot.training import rasa_env

SCRIPT = r'''
import json
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from nlu.components.normalizer import IndonesianNormalizer
import tempfile, pathlib

storage = LocalModelStorage(pathlib.Path(tempfile.mkdtemp()))
ctx = ExecutionContext(graph_schema=None, model_id="t")
tok = WhitespaceTokenizer.create(WhitespaceTokenizer.get_default_config(), storage, Resource("tok"), ctx)
out = {}
for stem in (False, True):
    cfg = {**IndonesianNormalizer.get_default_config(), "stem": stem}
    norm = IndonesianNormalizer.create(cfg, storage, Resource("norm"), ctx)
    msg = Message(data={"text": "min perpus bukaaa jam brp? buku2 peminjaman"})
    tok.process([msg])
    norm.process([msg])
    out[str(stem)] = [[t.text, t.lemma, t.start, t.end] for t in msg.get("text_tokens")]
    example = Message(data={"text": "ada buku2 karya tere liye", "intent": "search_book",
                            "entities": [{"entity": "author", "start": 16, "end": 25, "value": "tere liye"}]})
    td = TrainingData([example])
    tok.process_training_data(td)
    norm.process_training_data(td)
    out["train_" + str(stem)] = [[t.text, t.lemma] for t in example.get("text_tokens")]
    out["text_" + str(stem)] = example.get("text")
from nlu.components.language import detect_language
out["lang"] = [detect_language(t) for t in (
    "what time does the library open?", "min perpus buka jam brp?", "ok", "do you have laskar pelangi?",
    "ada buku bumi ga")]
print(json.dumps(out))
'''


@pytest.fixture(scope="module")
def result() -> dict:
    settings = Settings()
    python = settings.rasa_venv / "bin" / "python"
    if not python.exists():
        pytest.skip("the Rasa runtime .venv-rasa is not installed")
    proc = subprocess.run(
        [str(python), "-c", SCRIPT], cwd=ROOT, env=rasa_env(settings),
        capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_lemmas_are_normalised_and_offsets_kept(result: dict) -> None:
    tokens = result["False"]
    assert [t[1] for t in tokens] == [
        "admin", "perpustakaan", "buka", "jam", "berapa", "buku", "peminjaman",
    ]
    # Text and offsets stay the patron's own, so entity spans still point at the right words.
    assert [t[0] for t in tokens][:3] == ["min", "perpus", "bukaaa"]
    assert tokens[2][2:] == [11, 17]


def test_optional_stemming(result: dict) -> None:
    assert result["True"][-1][1] == "pinjam"


def test_training_examples_keep_their_text(result: dict) -> None:
    assert result["text_False"] == "ada buku2 karya tere liye"
    assert result["train_False"] == [
        ["ada", "ada"], ["buku2", "buku"], ["karya", "karya"], ["tere", "tere"], ["liye", "liye"],
    ]


def test_language_is_detected_per_message(result: dict) -> None:
    assert result["lang"] == ["en", "id", None, "en", "id"]
