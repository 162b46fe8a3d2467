"""MARC 21 records (binary ``.mrc`` in MARC-8 or UTF-8, and MARCXML) read with pymarc.

One job: turn MARC into :class:`RecordData`. Fields used: 245 title/subtitle, 100/110/700/710
authors, 260/264 publisher and year, 020 ISBN, 082 (or 084, as SLiMS exports it)
classification, 650/651 subjects, 490/830 series ($a name, $v volume), 856 $u e-book link, and holdings per copy from Koha's 952
(a/b branch, c location, o call number, p barcode, q due date, 7 not for loan, 1 lost) or 852.

A broken record never stops a file: it is reported with its position and the reason.
"""

from __future__ import annotations

import hashlib
import logging
import re
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import IO, Any

import pymarc

from knowledge.catalog import normalize_isbn
from knowledge.models import CopyStatus
from knowledge.series import series_number
from knowledge.sources.records import RecordData
from knowledge.sources.report import SyncReport

log = logging.getLogger(__name__)

MARCXML_NS = "{http://www.loc.gov/MARC21/slim}"
_TRAILING = " /:;,.="
_YEAR = re.compile(r"(1[5-9]\d\d|20\d\d)")


class BadRecord(ValueError):
    """A MARC record that cannot be imported, with the librarian-facing reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _clean(value: str | None) -> str:
    value = (value or "").strip()
    while value and value[-1] in _TRAILING:
        value = value[:-1].rstrip()
    return value.strip("[] ") if value.startswith("[") and value.endswith("]") else value


def _sub(field: pymarc.Field, code: str) -> str | None:
    values = field.get_subfields(code)
    return values[0] if values else None


def _first(record: pymarc.Record, tags: tuple[str, ...], code: str) -> str | None:
    for tag in tags:
        for f in record.get_fields(tag):
            value = _clean(_sub(f, code))
            if value:
                return value
    return None


def _title(record: pymarc.Record) -> tuple[str, str | None]:
    fields = record.get_fields("245")
    if not fields:
        raise BadRecord("tidak ada judul (field 245)")
    f = fields[0]
    main = " ".join(_clean(v) for v in [_sub(f, "a"), *f.get_subfields("n", "p")] if _clean(v))
    if not main:
        raise BadRecord("judul (245 $a) kosong")
    subtitle = _clean(_sub(f, "b")) or None
    return main, subtitle


def _name(value: str) -> str:
    """``Hirata, Andrea,`` -> ``Hirata, Andrea``; keeps the period of an initial (``J.``)."""
    value = value.strip().rstrip(" ,;:/").strip()
    if value.endswith(".") and len(value) >= 3 and value[-2].islower() and value[-3].isalpha():
        value = value[:-1]
    return value


def _authors(record: pymarc.Record) -> list[str]:
    names: list[str] = []
    for tag in ("100", "110", "700", "710"):
        for f in record.get_fields(tag):
            parts = f.get_subfields("a", "b") if tag in ("110", "710") else f.get_subfields("a")
            name = _name(" ".join(p.strip() for p in parts))
            if name and name not in names:
                names.append(name)
    return names


def _publication(record: pymarc.Record) -> tuple[str | None, str | None]:
    publisher = year_text = None
    for f in [*record.get_fields("264"), *record.get_fields("260")]:
        if f.tag == "264" and f.indicator2 not in ("1", " "):
            continue
        publisher = publisher or _clean(_sub(f, "b")) or None
        year_text = year_text or _sub(f, "c")
    year = None
    match = _YEAR.search(year_text or "")
    if match:
        year = match.group(1)
    elif record.get("008") is not None:
        fixed = record.get("008").data or ""  # type: ignore[union-attr]
        if len(fixed) >= 11 and fixed[7:11].isdigit():
            year = fixed[7:11]
    return publisher, year


def _subjects(record: pymarc.Record) -> list[str]:
    subjects: list[str] = []
    for f in [*record.get_fields("650"), *record.get_fields("651")]:
        parts = [_clean(v) for v in f.get_subfields("a", "x", "y", "z")]
        text = " -- ".join(p for p in parts if p)
        if text and text not in subjects:
            subjects.append(text)
    return subjects


def _language(record: pymarc.Record) -> str | None:
    fixed = record.get("008").data if record.get("008") is not None else ""
    code = (fixed or "")[35:38].strip()
    if len(code) == 3 and code.isalpha():
        return code
    return _first(record, ("041",), "a")


def _due(value: str | None) -> date | None:
    try:
        return date.fromisoformat((value or "")[:10]) if value else None
    except ValueError:
        return None


def _flag(value: str | None) -> bool:
    return bool(value and value.strip() not in ("", "0"))


def _holdings(record: pymarc.Record, default_call: str | None) -> list[dict[str, object]]:
    copies: list[dict[str, object]] = []
    for f in record.get_fields("952"):
        due = _due(_sub(f, "q"))
        if _flag(_sub(f, "1")):
            status = CopyStatus.LOST
        elif due:
            status = CopyStatus.ON_LOAN
        elif _flag(_sub(f, "7")):
            status = CopyStatus.REFERENCE
        else:
            status = CopyStatus.AVAILABLE
        copies.append(
            {
                "barcode": (_sub(f, "p") or "").strip() or None,
                "call_number": (_sub(f, "o") or "").strip() or default_call,
                "location": (_sub(f, "c") or _sub(f, "b") or _sub(f, "a") or "").strip() or None,
                "status": status,
                "due_date": due if status is CopyStatus.ON_LOAN else None,
            }
        )
    if copies:
        return copies
    for f in record.get_fields("852"):
        call = " ".join(p.strip() for p in f.get_subfields("h", "i") if p.strip()) or default_call
        where = " ".join(p.strip() for p in f.get_subfields("b", "c") if p.strip())
        copies.append(
            {
                "barcode": (_sub(f, "p") or "").strip() or None,
                "call_number": call,
                "location": where or None,
                "status": CopyStatus.AVAILABLE,
                "due_date": None,
            }
        )
    return copies


_NOT_THE_BOOK = ("contents", "daftar isi", "description", "publisher", "cover", "review", "sample")


def _ebook_url(record: pymarc.Record) -> str | None:
    """856 $u of the resource itself (ind2 0/1), not a table of contents or a cover."""
    for f in record.get_fields("856"):
        url = (_sub(f, "u") or "").strip()
        label = " ".join(f.get_subfields("3", "y", "z")).lower()
        if f.indicator2 == "2" or any(word in label for word in _NOT_THE_BOOK):
            continue
        if url.startswith(("http://", "https://")):
            return url
    return None


def _source_id(record: pymarc.Record, title: str, authors: list[str], year: str | None) -> str:
    control = record.get("001")
    if control is not None and (control.data or "").strip():
        return control.data.strip()[:100]
    for f in record.get_fields("035"):
        value = (_sub(f, "a") or "").strip()
        if value:
            return value[:100]
    isbn = normalize_isbn(_first(record, ("020",), "a"))
    if isbn:
        return f"isbn:{isbn}"
    digest = hashlib.sha1(f"{title}|{'; '.join(authors)}|{year}".encode()).hexdigest()[:16]
    return f"sha1:{digest}"


def _series(record: pymarc.Record) -> dict[str, Any]:
    """The series statement: 830 (the authorised series title) before 490, ``$a`` and ``$v``."""
    for tag in ("830", "490"):
        for f in record.get_fields(tag):
            name = _clean(_sub(f, "a"))
            if name:
                return {"series": name[:500], "series_number": series_number(_sub(f, "v"))}
    return {"series": None, "series_number": None}


def to_record_data(record: pymarc.Record) -> RecordData:
    """Map one pymarc record to :class:`RecordData`.

    Raises:
        BadRecord: the record has no usable title.
    """
    title, subtitle = _title(record)
    authors = _authors(record)
    publisher, year = _publication(record)
    classification = _first(record, ("082", "084"), "a")
    call_number = None
    for tag in ("090", "092", "099", "050"):
        for f in record.get_fields(tag):
            parts = [p.strip() for p in f.get_subfields("a", "b") if p.strip()]
            if parts:
                call_number = " ".join(parts)
                break
        if call_number:
            break
    isbn_raw = " ".join(p for f in record.get_fields("020") for p in f.get_subfields("a"))
    return RecordData(
        source_id=_source_id(record, title, authors, year),
        fields={
            "title": title[:2000],
            "subtitle": subtitle,
            "authors": authors,
            "publisher": (publisher or None) and publisher[:255],
            "year": year,
            "isbn": normalize_isbn(isbn_raw),
            "classification": (classification or None) and classification[:64],
            "call_number": (call_number or None) and call_number[:128],
            "subjects": _subjects(record),
            "language": _language(record),
            "ebook_url": _ebook_url(record),
            **_series(record),
        },
        copies=_holdings(record, call_number),
    )


# --- readers ----------------------------------------------------------------------------------


def _binary_records(
    stream: IO[bytes], report: SyncReport, name: str
) -> Iterator[tuple[int, pymarc.Record]]:
    """Split on the record terminator ourselves, so one broken record costs only itself."""
    buffer = b""
    position = 0
    while True:
        block = stream.read(1 << 20)
        if not block:
            break
        buffer += block
        *chunks, buffer = buffer.split(b"\x1d")
        for chunk in chunks:
            if not chunk.strip():
                continue
            position += 1
            record = _parse_binary(chunk + b"\x1d", report, f"{name}#{position}")
            if record is not None:
                yield position, record
    if buffer.strip():
        position += 1
        report.skip(f"{name}#{position}", "rekaman terpotong (tanpa penanda akhir rekaman)")


class _FastField:
    """The part of ``pymarc.Field`` the mapping uses, without pymarc's per-field cost."""

    __slots__ = ("tag", "indicator1", "indicator2", "data", "subfields")

    def __init__(self, tag: str, body: str) -> None:
        self.tag = tag
        if tag < "010" and tag.isdigit():
            self.data: str | None = body
            self.indicator1 = self.indicator2 = " "
            self.subfields: list[tuple[str, str]] = []
            return
        self.data = None
        self.indicator1, self.indicator2 = (body[:1] or " "), (body[1:2] or " ")
        self.subfields = [(part[:1], part[1:]) for part in body[2:].split("\x1f")[1:] if part]

    def get_subfields(self, *codes: str) -> list[str]:
        return [value for code, value in self.subfields if code in codes]

    def value(self) -> str:
        return self.data if self.data is not None else " ".join(v for _, v in self.subfields)


# The tags :func:`to_record_data` reads; the fast reader decodes only these.
_USED_TAGS = frozenset(
    "001 008 020 035 041 050 082 084 090 092 099 100 110 245 260 264 490 650 651 700 710 830 852 856 952".split()
)


class _FastRecord:
    """A UTF-8 ISO 2709 record parsed straight from its directory (pymarc is ~10x slower).

    Only the fields :func:`to_record_data` uses are decoded.
    """

    __slots__ = ("leader", "fields", "_by_tag")

    def __init__(self, chunk: bytes) -> None:
        self.leader = chunk[:24].decode("ascii")
        if int(self.leader[:5]) != len(chunk) or self.leader[9] != "a":
            raise ValueError("not a well-formed UTF-8 record")
        base = int(self.leader[12:17])
        directory = chunk[24 : base - 1].decode("ascii")
        if len(directory) % 12:
            raise ValueError("directory length")
        self.fields: list[_FastField] = []
        self._by_tag: dict[str, list[_FastField]] = {}
        for i in range(0, len(directory), 12):
            tag = directory[i : i + 3]
            if tag not in _USED_TAGS:
                continue
            length, start = int(directory[i + 3 : i + 7]), int(directory[i + 7 : i + 12])
            body = chunk[base + start : base + start + length].rstrip(b"\x1e").decode("utf-8", "replace")
            field = _FastField(tag, body)
            self.fields.append(field)
            self._by_tag.setdefault(tag, []).append(field)
        if not self.fields:
            raise ValueError("no fields")

    def get_fields(self, *tags: str) -> list[_FastField]:
        if len(tags) == 1:
            return list(self._by_tag.get(tags[0], ()))
        return [f for f in self.fields if f.tag in tags]

    def get(self, tag: str) -> _FastField | None:
        found = self._by_tag.get(tag)
        return found[0] if found else None


def _parse_binary(chunk: bytes, report: SyncReport, where: str) -> pymarc.Record | None:
    try:
        return _FastRecord(chunk)  # type: ignore[return-value] - duck-typed for to_record_data
    except (ValueError, IndexError, UnicodeDecodeError):
        pass  # MARC-8, or broken: pymarc decodes it or says precisely what is wrong
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pymarc.Record(
                data=chunk, to_unicode=True, force_utf8=False, hide_utf8_warnings=True,
                utf8_handling="replace",
            )
    except Exception as exc:  # noqa: BLE001 - pymarc raises many kinds; report, never abort
        report.skip(where, f"rekaman MARC rusak: {type(exc).__name__} {exc}".strip())
        return None


def _xml_record(elem: ET.Element) -> pymarc.Record:
    record = pymarc.Record()
    leader = (elem.findtext(f"{MARCXML_NS}leader") or "").ljust(24)[:24]
    try:
        record.leader = leader
    except Exception:  # noqa: BLE001 - a bad leader only matters for the encoding
        record.leader = " " * 24
    for child in elem:
        tag = child.get("tag") or ""
        if child.tag == f"{MARCXML_NS}controlfield":
            record.add_field(pymarc.Field(tag=tag, data=child.text or ""))
        elif child.tag == f"{MARCXML_NS}datafield":
            subfields = [
                pymarc.Subfield(code=(sf.get("code") or " ")[:1], value=sf.text or "")
                for sf in child.findall(f"{MARCXML_NS}subfield")
            ]
            indicators = pymarc.Indicators(
                (child.get("ind1") or " ")[:1], (child.get("ind2") or " ")[:1]
            )
            record.add_field(pymarc.Field(tag=tag.zfill(3), indicators=indicators, subfields=subfields))
    return record


def _xml_records(path: Path, report: SyncReport) -> Iterator[tuple[int, pymarc.Record]]:
    position = 0
    try:
        for _event, elem in ET.iterparse(str(path), events=("end",)):
            if elem.tag != f"{MARCXML_NS}record":
                continue
            position += 1
            try:
                record = _xml_record(elem)
            except Exception as exc:  # noqa: BLE001 - report, never abort
                report.skip(f"{path.name}#{position}", f"rekaman MARCXML rusak: {exc}")
            else:
                yield position, record
            elem.clear()
    except ET.ParseError as exc:
        report.skip(f"{path.name}#{position + 1}", f"berkas XML rusak: {exc}")



def read_marc(path: Path, report: SyncReport, *, xml: bool = False) -> Iterator[RecordData]:
    """Records of a MARC (binary) or MARCXML file; bad ones are reported and skipped.

    Args:
        path: the file.
        report: collects skipped records with their position (``file#n``) and reason.
        xml: the file is MARCXML.

    Yields:
        One :class:`RecordData` per good record, in file order.
    """
    if xml:
        for position, record in _xml_records(path, report):
            yield from _convert(record, report, f"{path.name}#{position}")
        return
    with path.open("rb") as stream:
        for position, record in _binary_records(stream, report, path.name):
            yield from _convert(record, report, f"{path.name}#{position}")


def _convert(record: pymarc.Record, report: SyncReport, where: str) -> Iterator[RecordData]:
    try:
        yield to_record_data(record)
    except BadRecord as exc:
        report.skip(where, exc.reason)
    except Exception as exc:  # noqa: BLE001 - report, never abort
        report.skip(where, f"rekaman tidak bisa dibaca: {type(exc).__name__} {exc}".strip())


def records_from_marcxml(xml_text: str | bytes) -> list[pymarc.Record]:
    """pymarc records inside a MARCXML fragment (used by the OAI-PMH harvester)."""
    root = ET.fromstring(xml_text)
    if root.tag == f"{MARCXML_NS}record":
        return [_xml_record(root)]
    return [_xml_record(e) for e in root.iter(f"{MARCXML_NS}record")]
