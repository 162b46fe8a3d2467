"""The NLU model loaded by Rasa's own loader vs. the serving-only loader, side by side.

Loads the shipped model (``models/pustakabot-*.tar.gz``, trained with
``nlu.components.diet.LeanDIETClassifier``) twice, each in a fresh ``.venv-rasa`` process:

* ``rasa`` — Rasa's ``RasaModel.load`` (compile with Adam, fit one step, restore the weights);
* ``lean`` — :class:`nlu.components.diet.LeanDIET` (one eager loss pass, restore, trace predict).

Each process parses every held-out NLU message (``tests/data/heldout/nlu.yml``) through
Rasa's ``Agent.parse_message`` and reports its RSS after import, after load and after parsing.
The script prints both side by side and whether every intent ranking (top 3, confidences to
1e-5) and every entity is the same.

    .venv/bin/python benchmarks/nlu_lean_load.py [--model models/pustakabot-….tar.gz]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.nlu_pipelines import HELDOUT, heldout_texts  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.training import rasa_env  # noqa: E402

# Runs inside .venv-rasa: argv = mode, model, messages file, output file.
CHILD = r"""
import asyncio, json, sys
mode, model, messages, output = sys.argv[1:5]

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) // 1024

from rasa.utils.tensorflow.models import RasaModel
from nlu.components.diet import LeanDIET
if mode == "rasa":
    LeanDIET.load = classmethod(RasaModel.load.__func__)
from rasa.core.agent import Agent
figures = {"import": rss_mb()}
agent = Agent.load(model)
figures["load"] = rss_mb()
parses = []

async def parse_all():
    for text in json.load(open(messages)):
        r = await agent.parse_message(text)
        parses.append({
            "intents": [[x["name"], round(x["confidence"], 5)] for x in r["intent_ranking"][:3]],
            "entities": [[e["entity"], e["value"]] for e in r["entities"]],
        })

asyncio.run(parse_all())
figures["parsed"] = rss_mb()
json.dump({"rss": figures, "parses": parses}, open(output, "w"))
"""


def newest_model() -> Path:
    models = sorted((ROOT / "models").glob("pustakabot-*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        sys.exit("no trained model in models/: run `pustakabot train` first")
    return models[-1]


def load_in_child(mode: str, model: Path, texts: list[str]) -> subprocess.Popen[str]:
    """Start a ``.venv-rasa`` process loading ``model`` with ``mode``'s loader and parsing ``texts``.

    Returns the running process; :func:`result` waits for it and reads its figures.
    """
    settings = Settings()
    tmp = Path(tempfile.mkdtemp(prefix=f"lean-{mode}-"))
    messages, out = tmp / "messages.json", tmp / "out.json"
    messages.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    env = {**rasa_env(settings), "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    argv = [str(settings.rasa_venv / "bin" / "python"), "-c", CHILD, mode, str(model), str(messages), str(out)]
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    proc.out_path = out  # type: ignore[attr-defined]
    return proc


def result(proc: subprocess.Popen[str]) -> dict:
    """Wait for a :func:`load_in_child` process; its RSS figures and parses."""
    output, _ = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"loader failed:\n{output[-3000:]}")
    out: Path = proc.out_path  # type: ignore[attr-defined]
    data = json.loads(out.read_text(encoding="utf-8"))
    shutil.rmtree(out.parent, ignore_errors=True)
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None)
    args = parser.parse_args()
    model = args.model or newest_model()
    texts = heldout_texts(HELDOUT)
    # One after the other, so each process has the machine to itself.
    results = {mode: result(load_in_child(mode, model, texts)) for mode in ("rasa", "lean")}
    rasa, lean = results["rasa"], results["lean"]
    same = sum(a == b for a, b in zip(rasa["parses"], lean["parses"], strict=True))
    print(f"model: {model.name}; {len(texts)} held-out messages; MALLOC_ARENA_MAX={rasa_env(Settings())['MALLOC_ARENA_MAX']}")
    print()
    print("| loader | RSS after import MB | after load MB | after parsing MB |")
    print("| --- | --- | --- | --- |")
    for mode, data in results.items():
        r = data["rss"]
        print(f"| {mode} | {r['import']} | {r['load']} | {r['parsed']} |")
    print()
    print(f"identical parses (top-3 intents to 1e-5, entities): {same} / {len(texts)}")


if __name__ == "__main__":
    main()
