"""Training, only when inputs changed: the Rasa NLU model (in the Python 3.10 runtime) and the FAQ
embedding model (fine-tuned on the librarians' question variants, in this runtime).

Rasa is trained NLU-only (``rasa train nlu``): intents and entities from ``config.yml`` and
``nlu/``. No domain, stories, rules or policies: the answer engine (``actions/``) decides replies."""

from __future__ import annotations

import csv
import fcntl
import hashlib
import logging
import os
import re
import subprocess
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from bot.settings import ROOT, Settings

if TYPE_CHECKING:
    from knowledge.faq_tune import TunedModel

log = logging.getLogger(__name__)

CONFIG = ROOT / "config.yml"
DATA = ROOT / "nlu" / "data"
GENERATED = DATA / "generated"
DEMO_CATALOG = ROOT / "knowledge" / "demo" / "catalog.csv"
CALIBRATION_OOS = ROOT / "knowledge" / "calibration" / "out_of_scope.yml"
# Lines of Rasa's training output worth showing as progress.
_STAGE = re.compile(r"Starting to train|Finished training|Your Rasa model is trained")
_EPOCHS = re.compile(r"Epochs:\s+(\d+)%")
# A lookup table is one regex feature; past a few thousand entries it slows parsing for little gain.
MAX_LOOKUP = 3000


class TrainingError(Exception):
    """``rasa train`` failed; ``output`` holds the end of its log."""

    def __init__(self, returncode: int, output: str) -> None:
        super().__init__(f"rasa train failed with exit code {returncode}")
        self.returncode = returncode
        self.output = output


def _yaml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _reading_order(name: str) -> str:
    last, sep, first = name.partition(",")
    if not sep or not first.strip() or any(ch.isdigit() for ch in first):
        return name.strip()
    return f"{first.strip().rstrip('.,')} {last.strip()}"


def catalog_names(settings: Settings | None = None) -> tuple[list[str], list[str]]:
    """Titles and authors (reading order) of the catalog: the database's, else the demo CSV's."""
    titles: set[str] = set()
    authors: set[str] = set()
    if settings is not None:
        try:
            from sqlalchemy import select

            from knowledge.db import make_engine, make_sessionmaker
            from knowledge.models import Record

            engine = make_engine(settings.effective_database_url)
            try:
                with make_sessionmaker(engine)() as session:
                    for record in session.scalars(select(Record)):
                        titles.add(record.title)
                        authors.update(record.authors or [])
            finally:
                engine.dispose()
        except Exception:  # no database yet: the demo catalog is the fallback
            log.info("catalog database not readable; lookup tables from the demo catalog")
    if not titles:
        with DEMO_CATALOG.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                titles.add(row["title"])
                authors.update(a for a in row["authors"].split(";"))
    clean_titles = sorted({t.strip() for t in titles if len(t.strip()) >= 3})[:MAX_LOOKUP]
    clean_authors = sorted({_reading_order(a) for a in authors if len(a.strip()) >= 3})[:MAX_LOOKUP]
    return clean_titles, clean_authors


def _lookup_yaml(name: str, values: Iterable[str]) -> str:
    lines = ["version: \"3.1\"", "# Generated from the catalog by bot/training.py; do not edit.", "nlu:"]
    lines += [f"  - lookup: {name}", "    examples: |"]
    lines += [f"      - {v}" for v in values]
    return "\n".join(lines) + "\n"


def _synonyms_yaml(pairs: dict[str, str]) -> str:
    lines = ["version: \"3.1\"", "# Generated from the catalog by bot/training.py; do not edit.", "nlu:"]
    for canonical in sorted(set(pairs.values())):
        variants = sorted(k for k, v in pairs.items() if v == canonical)
        lines += [f"  - synonym: {_yaml_str(canonical)}", "    examples: |"]
        lines += [f"      - {v}" for v in variants]
    return "\n".join(lines) + "\n"


def write_generated(settings: Settings | None = None, *, out: Path = GENERATED) -> list[Path]:
    """Write title/author lookup tables and synonyms from the catalog (deterministic output).

    Synonyms map a patron's plain spelling ("ayat ayat cinta") to the catalog form
    ("Ayat-Ayat Cinta"). The files are regenerated before every training and are part of the
    model fingerprint, so a changed catalog retrains the model; they are not kept in git.
    """
    from knowledge.text import fold

    titles, authors = catalog_names(settings)
    pairs: dict[str, str] = {}
    for value in [*titles, *authors]:
        plain = fold(value)
        if plain and plain != value.lower() and plain not in pairs:
            pairs[plain] = value
    out.mkdir(parents=True, exist_ok=True)
    files = {
        out / "lookup_title.yml": _lookup_yaml("title", titles),
        out / "lookup_author.yml": _lookup_yaml("author", authors),
        out / "synonyms_catalog.yml": _synonyms_yaml(pairs),
    }
    for path, content in files.items():
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")
    return list(files)


def training_inputs() -> list[Path]:
    """Every file whose content changes the trained model."""
    files = [CONFIG]
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
    """Where the model for the current inputs lives (refreshes the generated lookup tables first)."""
    try:
        write_generated(settings)
    except OSError:  # read-only checkout: the files already there are the inputs
        log.warning("could not refresh the generated lookup tables", exc_info=True)
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
            # TensorFlow's threads each get a glibc malloc arena otherwise: ~50 MB for nothing.
            "MALLOC_ARENA_MAX": "2",
        }
    )
    return env


def train(settings: Settings, *, force: bool = False) -> Path:
    """Train the NLU model unless one for the current inputs exists; return the model's path.

    Rasa's output streams to the log as it trains (``rasa train nlu`` prints its epochs), so a
    first start shows progress instead of minutes of silence.
    """
    target = model_path(settings)
    if target.exists() and not force:
        log.info("model up to date: %s", target.name)
        return target
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    # Two starts at once (`pustakabot run` and `pustakabot train`, or two test sessions) train
    # one after the other; the second finds the first one's model.
    with (settings.models_dir / ".training.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists() and not force:
            log.info("model up to date (trained meanwhile): %s", target.name)
            return target
        return _train(settings, target)


def _train(settings: Settings, target: Path) -> Path:
    # Rasa writes the archive in place; it gets its real name only when complete, so a process
    # that finds ``target`` finds a whole model.
    # (No dot in the name: Rasa replaces what follows a dot with ".tar.gz".)
    partial = target.with_name(target.name.removesuffix(".tar.gz") + "-partial.tar.gz")
    rasa = settings.rasa_venv / "bin" / "rasa"
    cmd = [
        str(rasa), "train", "nlu",
        "--config", str(CONFIG), "--nlu", str(DATA),
        "--out", str(settings.models_dir), "--fixed-model-name", partial.name.removesuffix(".tar.gz"),
    ]
    log.info("training the Rasa NLU model (%s)", target.name)
    tail: deque[str] = deque(maxlen=80)
    with subprocess.Popen(
        cmd, cwd=ROOT, env=rasa_env(settings), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, errors="replace",
    ) as proc:
        assert proc.stdout is not None
        shown = -10
        for line in proc.stdout:  # text mode: tqdm's carriage returns arrive as lines
            line = line.rstrip()
            tail.append(line)
            epochs = _EPOCHS.search(line)
            if epochs and int(epochs.group(1)) >= shown + 10:
                shown = int(epochs.group(1)) // 10 * 10
                log.info("training the NLU model: %d%% of the epochs", shown)
            elif _STAGE.search(line):
                log.info("rasa: %s", line[-160:])
    if proc.returncode != 0 or not partial.exists():
        partial.unlink(missing_ok=True)
        raise TrainingError(proc.returncode, "\n".join(tail))
    os.replace(partial, target)
    for old in settings.models_dir.glob("pustakabot-*.tar.gz"):
        if old != target:
            old.unlink()
    return target


def out_of_scope_examples() -> list[str]:
    """Questions the FAQ must not answer, for calibrating its threshold: the NLU's ``out_of_scope``
    examples and ``knowledge/calibration/out_of_scope.yml``."""
    import yaml

    examples: list[str] = []
    for block in yaml.safe_load((DATA / "nlu.yml").read_text(encoding="utf-8"))["nlu"]:
        if block.get("intent") == "out_of_scope":
            examples += [ln.strip()[2:].strip() for ln in block["examples"].splitlines() if ln.strip().startswith("- ")]
    extra = yaml.safe_load(CALIBRATION_OOS.read_text(encoding="utf-8"))["out_of_scope"]
    return list(dict.fromkeys([*examples, *extra]))


def train_faq_model(settings: Settings, *, force: bool = False, only_if_missing: bool = False) -> TunedModel | None:
    """Fine-tune the FAQ embedding model for the current FAQ files (see knowledge.faq_tune).

    ``only_if_missing``: keep any tuned model of the configured base (``run`` uses this, so a FAQ
    edit does not hold a restart for minutes; ``train`` refreshes it). None when disabled.
    """
    from knowledge.faq import FaqStore
    from knowledge.faq_search import SYNONYMS_FILE, load_synonyms
    from knowledge.faq_tune import TuneSettings, ensure_tuned, find_tuned, tunable

    if not settings.faq_fine_tune or not tunable(settings.embedding_model):
        return None
    if only_if_missing and not force:
        existing = find_tuned(settings.models_dir, settings.embedding_model)
        if existing is not None:
            return existing
    items = FaqStore(settings.faq_dir).entries()
    if not items:
        log.warning("no FAQ entries in %s: the FAQ embedding model is not fine-tuned", settings.faq_dir)
        return None
    return ensure_tuned(
        settings.models_dir,
        settings.embedding_model,
        items,
        out_of_scope_examples(),
        synonyms=load_synonyms(settings.faq_dir / SYNONYMS_FILE),
        settings=TuneSettings(steps=settings.faq_tune_steps),
        force=force,
    )
