"""FAQ entries drafted from the analytics page: a YAML draft the librarian edits, checked the way
`pustakabot faq check` checks the folder (:func:`knowledge.faq.check_folder`), then saved into
the FAQ folder, where the live reload serves it within seconds."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from knowledge.faq import FaqItem, FaqProblem, check_folder, faq_files
from knowledge.text import fold

_FILE = re.compile(r"^[a-z0-9][a-z0-9-]{0,60}\.ya?ml$")


class DraftError(Exception):
    """The draft cannot be saved; ``problems`` says why (Indonesian, ``file:line``)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def slug(text: str, *, words: int = 5) -> str:
    """"Apakah ada ruang menyusui?" -> "apakah-ada-ruang-menyusui"."""
    return "-".join(fold(text).split()[:words])[:50].strip("-") or "entri-baru"


def draft_yaml(questions: list[str], existing_ids: set[str]) -> str:
    """A FAQ file with one entry for ``questions``; the answer is left for the librarian."""
    base = slug(questions[0]) if questions else "entri-baru"
    entry_id, n = base, 2
    while entry_id in existing_ids:
        entry_id, n = f"{base}-{n}", n + 1
    lines = ["faqs:", f"  - id: {entry_id}", "    questions:"]
    for question in questions[:12] or ["(tulis pertanyaan)"]:
        # One YAML scalar per line, quoted as YAML needs it (":" or "#" inside a question).
        lines.append(f"      - {yaml.safe_dump(question, allow_unicode=True, width=1000).splitlines()[0]}")
    lines += ["    answer: >-", "      ", "    tags: [usulan-analitik]"]
    return "\n".join(lines) + "\n"


def draft_file_name(questions: list[str]) -> str:
    """A file name for the draft (``usulan-...yml``)."""
    return f"usulan-{slug(questions[0] if questions else '', words=4)}.yml"


@dataclass(frozen=True)
class Saved:
    """A draft saved into the FAQ folder."""

    path: Path
    items: list[FaqItem]


def save_draft(folder: Path, file_name: str, text: str) -> Saved:
    """Check the draft together with the folder's files (ids unique across files) and save it.

    Raises:
        DraftError: a bad file name, an existing file, or what `faq check` reports for the draft.
    """
    file_name = file_name.strip()
    if not _FILE.match(file_name):
        raise DraftError(["Nama berkas hanya boleh huruf kecil, angka dan tanda hubung, diakhiri .yml "
                          "(contoh: usulan-ruang-menyusui.yml)."])
    target = folder / file_name
    if target.exists():
        raise DraftError([f"Berkas {file_name} sudah ada di folder FAQ; pilih nama lain."])
    with tempfile.TemporaryDirectory(prefix="faq-draft-") as tmp:
        trial = Path(tmp)
        for path in faq_files(folder):
            shutil.copy2(path, trial / path.name)
        for extra in ("sinonim.tsv",):
            if (folder / extra).exists():
                shutil.copy2(folder / extra, trial / extra)
        (trial / file_name).write_text(text, encoding="utf-8")
        items, problems = check_folder(trial)
    mine = [p for p in problems if p.file == file_name or Path(p.file).name == file_name]
    if mine:
        raise DraftError([_problem(p) for p in mine])
    entries = [i for i in items if i.source_file == file_name or Path(i.source_file).name == file_name]
    if not entries:
        raise DraftError([f"{file_name}: draf tidak berisi entri FAQ"])
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=".draft-", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(tmp_name, target)  # appears whole: the live reload never reads half a file
    return Saved(path=target, items=entries)


def _problem(problem: FaqProblem) -> str:
    return f"{Path(problem.file).name}:{problem.line}: {problem.message}"
