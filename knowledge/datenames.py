"""Day and month names in Indonesian and English, from Babel's CLDR data (no hand-written lists)."""

from __future__ import annotations

from functools import lru_cache

from babel.dates import get_day_names, get_month_names


def _locale(lang: str) -> str:
    return "en" if lang == "en" else "id"


@lru_cache(maxsize=4)
def day_names(lang: str = "id") -> tuple[str, ...]:
    """The seven day names, Monday first (``date.weekday()`` order): "Senin" … "Minggu"."""
    names = get_day_names("wide", locale=_locale(lang))
    return tuple(str(names[i]) for i in range(7))


@lru_cache(maxsize=4)
def month_names(lang: str = "id", width: str = "wide") -> tuple[str, ...]:
    """The twelve month names, January first: "Januari" … "Desember" (``width="abbreviated"``: "Jan")."""
    names = get_month_names(width, locale=_locale(lang))
    return tuple(str(names[i]) for i in range(1, 13))


def day_name(weekday: int, lang: str = "id") -> str:
    """Name of ``weekday`` (0 = Monday, as ``date.weekday()``) in ``lang`` ("id" or "en")."""
    return day_names(lang)[weekday]


def month_name(month: int, lang: str = "id") -> str:
    """Name of ``month`` (1 = January) in ``lang`` ("id" or "en")."""
    return month_names(lang)[month - 1]
