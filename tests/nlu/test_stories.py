"""Multi-turn stories: `rasa test core` with the trained model, and NLU on every story turn.

`rasa test core` replays the stories' events through the policies (it does not call the action
server: custom actions' events come from the story), so it checks that each turn - follow-ups
included - triggers the right action. The actions' slot carry-over itself is tested against the
real knowledge base in tests/actions/test_context.py. Here the user texts of the stories are
also parsed by the trained NLU model: intent and entities (except ``language``) must match.

Slow-ish: trains the model once when config.yml or nlu/ changed (~70 s), then ~1 min.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from actions.catalog import complete_title
from bot.settings import ROOT, Settings
from bot.training import rasa_env, train

STORIES = ROOT / "tests" / "data" / "stories"

PARSE = r'''
import asyncio, json, sys
from rasa.core.agent import Agent

async def main():
    agent = Agent.load(sys.argv[1])
    texts = json.loads(open(sys.argv[2], encoding="utf-8").read())
    out = []
    for text in texts:
        parsed = await agent.parse_message(text)
        out.append({"intent": parsed["intent"]["name"],
                    "entities": sorted([e["entity"], str(e["value"]).lower()] for e in parsed["entities"]
                                       if e["entity"] != "language")})
    print(json.dumps(out))

asyncio.run(main())
'''


@pytest.fixture(scope="module")
def model() -> Path:
    settings = Settings()
    if not (settings.rasa_venv / "bin" / "rasa").exists():
        pytest.skip("the Rasa runtime .venv-rasa is not installed")
    return train(settings)


def story_turns() -> list[tuple[str, str, list[list[str]]]]:
    """(text, intent, [[entity, value]]) of every story step with a user text."""
    turns = []
    for path in sorted(STORIES.glob("*.yml")):
        for story in yaml.safe_load(path.read_text(encoding="utf-8"))["stories"]:
            for step in story["steps"]:
                if "user" not in step:
                    continue
                marked = step["user"].strip()
                entities = sorted([e, v.lower()] for v, e in re.findall(r"\[([^\]]+)\]\(([^)]+)\)", marked))
                text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", marked)
                turns.append((text, step["intent"], entities))
    return turns


def test_there_are_at_least_ten_multi_turn_stories() -> None:
    stories = [s for p in STORIES.glob("*.yml") for s in yaml.safe_load(p.read_text())["stories"]]
    multi = [s for s in stories if sum(1 for step in s["steps"] if "intent" in step) >= 2]
    assert len(multi) >= 10


def test_rasa_test_core_passes_every_story(model: Path, tmp_path: Path) -> None:
    settings = Settings()
    out = tmp_path / "results"
    proc = subprocess.run(
        [str(settings.rasa_venv / "bin" / "rasa"), "test", "core", "--model", str(model),
         "--stories", str(STORIES), "--out", str(out), "--no-plot"],
        cwd=ROOT, env=rasa_env(settings), capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    failed = (out / "failed_test_stories.yml").read_text(encoding="utf-8")
    assert "None of the test stories failed" in failed, failed
    report = json.loads((out / "story_report.json").read_text(encoding="utf-8"))
    assert report["conversation_accuracy"]["accuracy"] == 1.0


def test_nlu_understands_every_story_turn(model: Path, tmp_path: Path) -> None:
    settings = Settings()
    turns = story_turns()
    texts = tmp_path / "texts.json"
    texts.write_text(json.dumps([t for t, _, _ in turns]), encoding="utf-8")
    proc = subprocess.run(
        [str(settings.rasa_venv / "bin" / "python"), "-c", PARSE, str(model), str(texts)],
        cwd=ROOT, env=rasa_env(settings), capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    predicted = json.loads(proc.stdout.strip().splitlines()[-1])
    for (text, _, _), p in zip(turns, predicted, strict=True):
        # what the catalog action searches for: a title tagged in part is completed from the text
        if not any(name in ("author", "subject") for name, _ in p["entities"]):
            p["entities"] = sorted(
                [name, complete_title(value, text).lower() if name == "title" else value]
                for name, value in p["entities"]
            )
    wrong = [
        (text, intent, entities, p)
        for (text, intent, entities), p in zip(turns, predicted, strict=True)
        if p["intent"] != intent or p["entities"] != entities
    ]
    assert not wrong, "\n".join(map(str, wrong))
