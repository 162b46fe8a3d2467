"""Compare NLU pipelines on the held-out test set (never trained on) and print a table.

For each config in benchmarks/configs/: ``rasa train nlu`` on nlu/data (with the generated
catalog lookup tables), ``rasa test nlu`` on tests/data/heldout/nlu.yml, and parse latency of
the loaded model (median / p95 over 3 passes of the held-out messages, in-process, no HTTP).

    .venv/bin/python benchmarks/nlu_pipelines.py [--only a_rasa_init,c_diet_normalizer]

Results: benchmarks/out/nlu/<config>/ and a Markdown table on stdout (for RESULTS.md).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.settings import Settings  # noqa: E402
from bot.training import rasa_env, write_generated  # noqa: E402

CONFIGS = ROOT / "benchmarks" / "configs"
HELDOUT = ROOT / "tests" / "data" / "heldout" / "nlu.yml"
OUT = ROOT / "benchmarks" / "out" / "nlu"


def heldout_texts(path: Path) -> list[str]:
    """Plain texts of the held-out examples (entity markup removed)."""
    texts = []
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\s+- (.+)$", line)
        if m and not line.strip().startswith("- intent"):
            texts.append(re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", m.group(1)))
    return texts


def run(cmd: list[str], env: dict[str, str]) -> None:
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{(proc.stdout + proc.stderr)[-3000:]}")


def entity_f1(report: dict) -> tuple[float, float]:
    """Micro and macro F1 over the real entity labels (``no_entity`` excluded)."""
    labels = {k: v for k, v in report.items() if isinstance(v, dict) and k not in (
        "no_entity", "micro avg", "macro avg", "weighted avg")}
    tp_fp_fn = [0.0, 0.0, 0.0]
    for v in labels.values():
        support, p, r = v["support"], v["precision"], v["recall"]
        tp = r * support
        tp_fp_fn[0] += tp
        tp_fp_fn[1] += (tp / p - tp) if p else 0.0
        tp_fp_fn[2] += support - tp
    tp, fp, fn = tp_fp_fn
    micro = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    macro = sum(v["f1-score"] for v in labels.values()) / len(labels) if labels else 0.0
    return micro, macro


def bench(config: Path, settings: Settings, *, reuse: bool = False) -> dict[str, float | str]:
    name = config.stem
    out = OUT / name
    out.mkdir(parents=True, exist_ok=True)
    rasa = str(settings.rasa_venv / "bin" / "rasa")
    env = rasa_env(settings)
    start = time.perf_counter()
    model = out / "model.tar.gz"
    if not (reuse and model.exists()):
        run([rasa, "train", "nlu", "--config", str(config), "--nlu", str(ROOT / "nlu" / "data"),
             "--out", str(out), "--fixed-model-name", "model"], env)
    train_s = time.perf_counter() - start
    run([rasa, "test", "nlu", "--model", str(model), "--nlu", str(HELDOUT), "--out", str(out / "test"),
         "--no-plot", "--no-errors"], env)
    intents = json.loads((out / "test" / "intent_report.json").read_text())
    entity_file = out / "test" / "DIETClassifier_report.json"
    ent_micro, ent_macro = entity_f1(json.loads(entity_file.read_text())) if entity_file.exists() else (0.0, 0.0)
    texts_file = out / "heldout.txt"
    texts_file.write_text("\n".join(heldout_texts(HELDOUT)), encoding="utf-8")
    python = str(settings.rasa_venv / "bin" / "python")
    proc = subprocess.run([python, str(ROOT / "benchmarks" / "_rasa_parse_latency.py"), str(model), str(texts_file)],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    latency = json.loads(proc.stdout.strip().splitlines()[-1])
    return {
        "config": name,
        "accuracy": intents["accuracy"],
        "macro_f1": intents["macro avg"]["f1-score"],
        "entity_f1": ent_micro,
        "entity_macro_f1": ent_macro,
        "median_ms": latency["median_ms"],
        "p95_ms": latency["p95_ms"],
        "train_s": train_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated config names")
    parser.add_argument("--reuse", action="store_true", help="reuse models already trained")
    args = parser.parse_args()
    settings = Settings()
    write_generated(None)  # lookup tables from the demo catalog: reproducible
    configs = sorted(CONFIGS.glob("*.yml"))
    if args.only:
        wanted = set(args.only.split(","))
        configs = [c for c in configs if c.stem in wanted]
    rows = []
    for config in configs:
        row = bench(config, settings, reuse=args.reuse)
        rows.append(row)
        print(json.dumps(row), flush=True)
    n = len(heldout_texts(HELDOUT))
    print(f"\nheld-out: {n} messages, {HELDOUT.relative_to(ROOT)}\n")
    print("| pipeline | intent accuracy | intent macro-F1 | entity F1 (micro) | entity F1 (macro) | parse median ms | parse p95 ms | train s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['config']} | {r['accuracy']:.3f} | {r['macro_f1']:.3f} | {r['entity_f1']:.3f} | "
              f"{r['entity_macro_f1']:.3f} | {r['median_ms']:.1f} | {r['p95_ms']:.1f} | {r['train_s']:.0f} |")


if __name__ == "__main__":
    main()
