"""Training the Rasa model (in the Python 3.10 runtime), only when data or config changed."""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
from pathlib import Path

from bot.settings import ROOT, Settings

log = logging.getLogger(__name__)

CONFIG = ROOT / "config.yml"
DOMAIN = ROOT / "nlu" / "domain.yml"
DATA = ROOT / "nlu" / "data"


class TrainingError(Exception):
    """``rasa train`` failed; ``output`` holds the end of its log."""

    def __init__(self, returncode: int, output: str) -> None:
        super().__init__(f"rasa train failed with exit code {returncode}")
        self.returncode = returncode
        self.output = output


def training_inputs() -> list[Path]:
    """Every file whose content changes the trained model."""
    files = [CONFIG, DOMAIN]
    files += sorted(p for p in (ROOT / "nlu").rglob("*") if p.is_file() and p.suffix in (".yml", ".yaml", ".py", ".txt", ".tsv"))
    rasa_lock = ROOT / "requirements" / "rasa.lock"
    if rasa_lock.exists():
        files.append(rasa_lock)
    return list(dict.fromkeys(f for f in files if "__pycache__" not in f.parts))


def fingerprint() -> str:
    """Hash of the training inputs (names and contents)."""
    digest = hashlib.sha256()
    for path in training_inputs():
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def model_path(settings: Settings) -> Path:
    """Where the model for the current inputs lives."""
    return settings.models_dir / f"pustakabot-{fingerprint()}.tar.gz"


def rasa_env(settings: Settings) -> dict[str, str]:
    """Environment of every Rasa process: our NLU components importable, no telemetry."""
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "PYTHONWARNINGS": "ignore",
        }
    )
    return env


def train(settings: Settings, *, force: bool = False) -> Path:
    """Train unless a model for the current inputs exists; return the model's path."""
    target = model_path(settings)
    if target.exists() and not force:
        log.info("model up to date: %s", target.name)
        return target
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    rasa = settings.rasa_venv / "bin" / "rasa"
    cmd = [
        str(rasa), "train",
        "--config", str(CONFIG), "--domain", str(DOMAIN), "--data", str(DATA),
        "--out", str(settings.models_dir), "--fixed-model-name", target.name.removesuffix(".tar.gz"),
    ]
    log.info("training the Rasa model (%s)", target.name)
    proc = subprocess.run(cmd, cwd=ROOT, env=rasa_env(settings), capture_output=True, text=True)
    if proc.returncode != 0 or not target.exists():
        raise TrainingError(proc.returncode, (proc.stdout + proc.stderr)[-4000:])
    for old in settings.models_dir.glob("pustakabot-*.tar.gz"):
        if old != target:
            old.unlink()
    return target
