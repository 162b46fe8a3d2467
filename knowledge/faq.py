"""Librarians' FAQ files: parsing with file:line errors in Indonesian, and a live store.

A file is a mapping with one key, ``faqs``, a list of entries
``{id, questions: [...], answer, answer_en?, tags?}``. :class:`FaqStore` re-reads changed files
within seconds; a file that fails validation is rejected, the error is logged, and the last
valid version of that file keeps serving.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger(__name__)

ALLOWED_KEYS = ("id", "questions", "answer", "answer_en", "tags")
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class FaqItem:
    """One FAQ entry as the librarian wrote it."""

    id: str
    questions: tuple[str, ...]
    answer: str
    answer_en: str | None = None
    tags: tuple[str, ...] = ()
    source_file: str = ""
    line: int = 0


@dataclass(frozen=True)
class FaqProblem:
    """One validation problem, located at ``file:line``."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class FaqFileError(Exception):
    """A FAQ file that cannot be used; ``problems`` lists every reason."""

    def __init__(self, problems: list[FaqProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _scalar(node: yaml.Node) -> str | None:
    if isinstance(node, yaml.ScalarNode):
        return str(node.value)
    return None


def parse_faq_file(path: Path) -> list[FaqItem]:
    """Parse and validate one FAQ file.

    Raises:
        FaqFileError: with every problem found, in plain Indonesian.
    """
    name = path.name
    problems: list[FaqProblem] = []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise FaqFileError([FaqProblem(name, 1, "berkas harus disimpan dengan encoding UTF-8")])
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        reason = getattr(exc, "problem", None) or str(exc)
        raise FaqFileError(
            [FaqProblem(name, line, f"format YAML tidak valid ({reason}); periksa indentasi dan tanda titik dua")]
        ) from None
    if root is None:
        raise FaqFileError([FaqProblem(name, 1, "berkas kosong; tulis `faqs:` lalu daftar pertanyaan")])
    if not isinstance(root, yaml.MappingNode):
        raise FaqFileError([FaqProblem(name, _line(root), "isi berkas harus diawali dengan `faqs:`")])
    faqs_node: yaml.Node | None = None
    for key_node, value_node in root.value:
        key = _scalar(key_node)
        if key == "faqs":
            faqs_node = value_node
        else:
            problems.append(
                FaqProblem(name, _line(key_node), f"kunci `{key}` tidak dikenal di tingkat atas; hanya `faqs:` yang boleh")
            )
    if faqs_node is None:
        problems.append(FaqProblem(name, 1, "kunci `faqs:` tidak ditemukan"))
        raise FaqFileError(problems)
    if not isinstance(faqs_node, yaml.SequenceNode):
        problems.append(FaqProblem(name, _line(faqs_node), "`faqs:` harus berupa daftar (setiap entri diawali `- id:`)"))
        raise FaqFileError(problems)

    items: list[FaqItem] = []
    seen: dict[str, int] = {}
    for entry in faqs_node.value:
        raw_id = _raw_id(entry)
        if raw_id is not None and raw_id in seen:
            problems.append(
                FaqProblem(name, _line(entry), f"id `{raw_id}` sudah dipakai di baris {seen[raw_id]}; setiap id harus unik")
            )
            continue
        if raw_id is not None:
            seen[raw_id] = _line(entry)
        item = _parse_entry(name, entry, problems)
        if item is not None:
            items.append(item)
    if problems:
        raise FaqFileError(problems)
    return items


def _raw_id(entry: yaml.Node) -> str | None:
    if not isinstance(entry, yaml.MappingNode):
        return None
    for key_node, value_node in entry.value:
        if _scalar(key_node) == "id":
            return _scalar(value_node)
    return None


def _parse_entry(name: str, entry: yaml.Node, problems: list[FaqProblem]) -> FaqItem | None:
    line = _line(entry)
    if not isinstance(entry, yaml.MappingNode):
        problems.append(FaqProblem(name, line, "setiap entri harus berisi `id`, `questions`, dan `answer`"))
        return None
    values: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key_node, value_node in entry.value:
        key = _scalar(key_node) or ""
        if key not in ALLOWED_KEYS:
            problems.append(
                FaqProblem(
                    name,
                    _line(key_node),
                    f"kunci `{key}` tidak dikenal; yang boleh: {', '.join(ALLOWED_KEYS)}",
                )
            )
            continue
        values[key] = (key_node, value_node)
    ok = True
    faq_id = _scalar(values["id"][1]) if "id" in values else None
    if not faq_id:
        problems.append(FaqProblem(name, line, "entri tanpa `id`"))
        ok = False
    elif not _ID.match(faq_id):
        problems.append(
            FaqProblem(name, _line(values["id"][1]), f"id `{faq_id}` hanya boleh berisi huruf kecil, angka, dan tanda hubung (-)")
        )
        ok = False
    label = f"`{faq_id}`" if faq_id else "ini"
    questions: list[str] = []
    if "questions" not in values:
        problems.append(FaqProblem(name, line, f"entri {label} tidak punya `questions`"))
        ok = False
    else:
        qnode = values["questions"][1]
        if not isinstance(qnode, yaml.SequenceNode):
            problems.append(FaqProblem(name, _line(qnode), f"`questions` pada entri {label} harus berupa daftar (`- ...`)"))
            ok = False
        else:
            for q in qnode.value:
                text = _scalar(q)
                if text is None or not text.strip():
                    problems.append(FaqProblem(name, _line(q), f"ada pertanyaan kosong pada entri {label}"))
                    ok = False
                else:
                    questions.append(text.strip())
            if not qnode.value:
                problems.append(FaqProblem(name, _line(qnode), f"entri {label} harus punya minimal satu pertanyaan"))
                ok = False
    answer = _scalar(values["answer"][1]) if "answer" in values else None
    if "answer" not in values:
        problems.append(FaqProblem(name, line, f"entri {label} tidak punya `answer`"))
        ok = False
    elif answer is None or not answer.strip():
        problems.append(FaqProblem(name, _line(values["answer"][0]), f"jawaban (`answer`) entri {label} kosong"))
        ok = False
    answer_en = _scalar(values["answer_en"][1]) if "answer_en" in values else None
    if "answer_en" in values and (answer_en is None or not answer_en.strip()):
        problems.append(FaqProblem(name, _line(values["answer_en"][0]), f"`answer_en` entri {label} kosong; hapus saja kalau tidak dipakai"))
        ok = False
    tags: list[str] = []
    if "tags" in values:
        tnode = values["tags"][1]
        if not isinstance(tnode, yaml.SequenceNode) or any(_scalar(t) is None for t in tnode.value):
            problems.append(FaqProblem(name, _line(tnode), f"`tags` entri {label} harus berupa daftar kata"))
            ok = False
        else:
            tags = [str(_scalar(t)) for t in tnode.value]
    if not ok or faq_id is None or answer is None:
        return None
    return FaqItem(
        id=faq_id,
        questions=tuple(questions),
        answer=answer.strip(),
        answer_en=answer_en.strip() if answer_en else None,
        tags=tuple(tags),
        source_file=name,
        line=line,
    )


def faq_files(folder: Path) -> list[Path]:
    """FAQ files in ``folder`` (``*.yml`` and ``*.yaml``), sorted by name."""
    return sorted(p for p in folder.glob("*.y*ml") if p.suffix in (".yml", ".yaml"))


def check_folder(folder: Path) -> tuple[list[FaqItem], list[FaqProblem]]:
    """Validate every file in ``folder``, including ids duplicated across files."""
    items: list[FaqItem] = []
    problems: list[FaqProblem] = []
    if not folder.is_dir():
        return [], [FaqProblem(str(folder), 0, "folder FAQ tidak ditemukan")]
    first_seen: dict[str, FaqItem] = {}
    for path in faq_files(folder):
        try:
            parsed = parse_faq_file(path)
        except FaqFileError as exc:
            problems.extend(exc.problems)
            continue
        for item in parsed:
            other = first_seen.get(item.id)
            if other is not None:
                problems.append(
                    FaqProblem(
                        item.source_file,
                        item.line,
                        f"id `{item.id}` sudah dipakai di {other.source_file}:{other.line}; setiap id harus unik di semua berkas",
                    )
                )
                continue
            first_seen[item.id] = item
            items.append(item)
    return items, problems


@dataclass
class _FileState:
    signature: tuple[float, int]
    items: list[FaqItem] = field(default_factory=list)


class FaqStore:
    """The current FAQ entries of a folder, reloaded when files change.

    ``entries()`` is cheap: it looks at the files' modification times at most once per
    ``check_interval`` seconds and re-parses only the files that changed.
    """

    def __init__(self, folder: Path, *, check_interval: float = 1.0) -> None:
        self.folder = folder
        self.check_interval = check_interval
        self._files: dict[Path, _FileState] = {}
        self._checked_at = 0.0
        self._version = 0
        self._lock = threading.Lock()
        self._entries: list[FaqItem] = []
        self.refresh(force=True)

    @property
    def version(self) -> int:
        """Increases every time the served entries change."""
        return self._version

    def entries(self) -> list[FaqItem]:
        """The entries now serving (reloaded first if a file changed)."""
        self.refresh()
        return self._entries

    def refresh(self, *, force: bool = False) -> bool:
        """Reload changed files; return True when the served entries changed."""
        now = time.monotonic()
        if not force and now - self._checked_at < self.check_interval:
            return False
        with self._lock:
            self._checked_at = now
            changed = False
            present = set(faq_files(self.folder)) if self.folder.is_dir() else set()
            for gone in set(self._files) - present:
                log.info("FAQ file removed: %s", gone.name)
                del self._files[gone]
                changed = True
            for path in sorted(present):
                try:
                    st = path.stat()
                except FileNotFoundError:
                    continue
                signature = (st.st_mtime, st.st_size)
                state = self._files.get(path)
                if state is not None and state.signature == signature:
                    continue
                try:
                    items = parse_faq_file(path)
                except FaqFileError as exc:
                    log.error(
                        "FAQ file %s rejected; the last valid version keeps serving:\n%s",
                        path.name,
                        exc,
                    )
                    if state is None:
                        self._files[path] = _FileState(signature, [])
                    else:
                        state.signature = signature
                    continue
                other_ids = {
                    i.id for p, s in self._files.items() if p != path for i in s.items
                }
                clashes = sorted({i.id for i in items} & other_ids)
                if clashes:
                    log.error(
                        "FAQ file %s rejected: id %s already used in another file",
                        path.name,
                        ", ".join(clashes),
                    )
                    if state is None:
                        self._files[path] = _FileState(signature, [])
                    else:
                        state.signature = signature
                    continue
                self._files[path] = _FileState(signature, items)
                log.info("FAQ file loaded: %s (%d entries)", path.name, len(items))
                changed = True
            if changed:
                self._entries = [i for p in sorted(self._files) for i in self._files[p].items]
                self._version += 1
            return changed

    def as_rows(self) -> list[dict[str, Any]]:
        """Entries as plain dicts (for mirroring into the database)."""
        return [
            {
                "id": i.id,
                "source_file": i.source_file,
                "questions": list(i.questions),
                "answer": i.answer,
                "answer_en": i.answer_en,
                "tags": list(i.tags),
            }
            for i in self.entries()
        ]


def sparse_entries(items: list[FaqItem]) -> list[FaqItem]:
    """Each entry as a librarian writes it at first: its first question and its answer only
    (no further variants, no ``answer_en``, no tags)."""
    return [
        FaqItem(id=i.id, questions=i.questions[:1], answer=i.answer, source_file=i.source_file, line=i.line)
        for i in items
    ]


def write_sparse_faq(source: Path, target: Path, *, synonyms_file: str | None = "sinonim.tsv") -> list[FaqItem]:
    """Write the "sparse" FAQ folder of ``source`` to ``target``: the same files, every entry reduced
    by :func:`sparse_entries`; ``synonyms_file`` (if present in ``source``) is copied as is.

    Returns the entries as read back from ``target`` (so they are valid FAQ files).

    Raises:
        FaqFileError: when ``source`` has invalid files.
    """
    items, problems = check_folder(source)
    if problems:
        raise FaqFileError(problems)
    target.mkdir(parents=True, exist_ok=True)
    by_file: dict[str, list[FaqItem]] = {}
    for item in sparse_entries(items):
        by_file.setdefault(item.source_file, []).append(item)
    for name, entries in by_file.items():
        rows = [{"id": i.id, "questions": list(i.questions), "answer": i.answer} for i in entries]
        (target / name).write_text(
            yaml.safe_dump({"faqs": rows}, allow_unicode=True, sort_keys=False, width=100), encoding="utf-8"
        )
    if synonyms_file and (source / synonyms_file).is_file():
        (target / synonyms_file).write_bytes((source / synonyms_file).read_bytes())
    written, problems = check_folder(target)
    if problems:
        raise FaqFileError(problems)
    return written
