"""Training runs only when data or config changed; the two runtimes stay apart."""

from __future__ import annotations

import subprocess
import sys

from bot import training
from bot.settings import ROOT, Settings


def test_fingerprint_follows_training_inputs(tmp_path, monkeypatch) -> None:
    nlu = tmp_path / "nlu"
    (nlu / "data").mkdir(parents=True)
    data = nlu / "data" / "nlu.yml"
    data.write_text("nlu: []\n")
    config = tmp_path / "config.yml"
    config.write_text("pipeline: []\n")
    monkeypatch.setattr(training, "ROOT", tmp_path)
    monkeypatch.setattr(training, "CONFIG", config)
    first = training.fingerprint()
    assert training.fingerprint() == first
    data.write_text("nlu: [x]\n")
    assert training.fingerprint() != first
    data.write_text("nlu: []\n")
    assert training.fingerprint() == first
    config.write_text("pipeline: [y]\n")
    assert training.fingerprint() != first


def test_existing_model_is_not_retrained(tmp_path) -> None:
    settings = Settings(models_dir=tmp_path, rasa_venv=tmp_path / "no-rasa-here")
    target = training.model_path(settings)
    target.write_bytes(b"model")
    # The Rasa venv does not exist: a training attempt would fail, so success means no training.
    assert training.train(settings) == target


def test_rasa_runs_on_python_310_and_the_app_on_311() -> None:
    settings = Settings()
    rasa_python = settings.rasa_venv / "bin" / "python"
    out = subprocess.run(
        [str(rasa_python), "-c", "import sys, rasa; print(sys.version_info[:2], rasa.__version__)"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout
    assert "(3, 10)" in out and "3.6.21" in out
    assert sys.version_info[:2] == (3, 11)
    app_has_rasa = subprocess.run([sys.executable, "-c", "import rasa"], capture_output=True)
    assert app_has_rasa.returncode != 0, "Rasa must not be installed in the app's virtualenv"
