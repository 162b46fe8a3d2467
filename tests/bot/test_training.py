"""Training runs only when data or config changed; the two runtimes stay apart."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


def test_two_trainings_at_once_train_once_and_never_expose_a_partial_model(tmp_path) -> None:
    import threading
    import time

    # A stand-in for `rasa train nlu` (the Rasa venv's executable): counts its runs, writes the
    # archive it is asked for, and waits for the test's go before finishing.
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    runs, go = tmp_path / "runs", tmp_path / "go"
    script = venv / "bin" / "rasa"
    script.write_text(
        "#!/bin/sh\n"
        f"echo run >> {runs}\n"
        'while [ "$1" != "--out" ]; do shift; done; out=$2; shift 2; name=$2\n'
        f'echo partial > "$out/$name.tar.gz"\n'
        f"while [ ! -e {go} ]; do sleep 0.05; done\n"
    )
    script.chmod(0o755)
    settings = Settings(models_dir=tmp_path / "models", rasa_venv=venv)
    target = training.model_path(settings)
    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(training.train(settings))) for _ in range(2)]
    threads[0].start()
    deadline = time.monotonic() + 30
    while not runs.exists():
        assert time.monotonic() < deadline, "the first training did not start"
        time.sleep(0.05)
    threads[1].start()
    # The second waits on the lock: /proc/locks lists a blocked request as "-> FLOCK".
    while "-> FLOCK" not in (Path("/proc/locks").read_text()):
        assert time.monotonic() < deadline, "the second training is not waiting for the first"
        time.sleep(0.05)
    assert not target.exists()  # the archive being written does not carry the model's name yet
    go.touch()
    for thread in threads:
        thread.join(30)
    assert results == [target, target]
    assert runs.read_text().count("run") == 1
    assert [p.name for p in settings.models_dir.glob("*.tar.gz")] == [target.name]
