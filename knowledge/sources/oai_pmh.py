"""OAI-PMH harvesting with Sickle: ListRecords, resumption tokens, incremental ``from``.

One job: turn an OAI-PMH endpoint into a stream of :class:`~knowledge.sources.sync.Change`.
Metadata prefixes ``oai_dc`` (SLiMS, INLISLite, most repositories) and ``marcxml`` (Koha).
Deleted records become deletions. ``noRecordsMatch`` simply means nothing changed; any other
OAI error (``badResumptionToken``, ``cannotDisseminateFormat``...) or a broken page raises
:class:`OAIHarvestError`, and the caller's transaction rolls back (nothing half-applied).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from sickle import Sickle
from sickle.oaiexceptions import NoRecordsMatch, OAIError

from knowledge.catalog import normalize_isbn
from knowledge.sources.marc import BadRecord, records_from_marcxml, to_record_data
from knowledge.sources.records import Change, RecordData
from knowledge.sources.report import SyncReport

log = logging.getLogger(__name__)

PREFIXES = ("oai_dc", "marcxml")
_YEAR = re.compile(r"(1[5-9]\d\d|20\d\d)")
_MARC_NS = "http://www.loc.gov/MARC21/slim"


class OAIHarvestError(RuntimeError):
    """The endpoint answered with an OAI error or an unreadable page."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


@dataclass
class HarvestState:
    """What a harvest saw: the newest datestamp (the next run's ``from``)."""

    latest: str | None = None
    pages: int = 0
    seen: list[str] = field(default_factory=list)

    def note(self, datestamp: str | None) -> None:
        """Remember ``datestamp`` if it is the newest so far (ISO strings sort by time)."""
        if datestamp and (self.latest is None or datestamp > self.latest):
            self.latest = datestamp


def _first(values: list[str] | None) -> str | None:
    for value in values or []:
        if value and value.strip():
            return value.strip()
    return None


def dc_record(identifier: str, metadata: dict[str, list[str]]) -> RecordData:
    """Map an ``oai_dc`` record to :class:`RecordData`.

    Raises:
        BadRecord: no title.
    """
    title = _first(metadata.get("title"))
    if not title:
        raise BadRecord("tidak ada judul (dc:title)")
    main, sep, subtitle = title.partition(" : ")
    year_match = _YEAR.search(" ".join(metadata.get("date") or []))
    isbn = None
    for ident in metadata.get("identifier") or []:
        if "isbn" in ident.lower() or re.fullmatch(r"[\d\- xX]{10,17}", ident.strip()):
            isbn = normalize_isbn(ident)
            if isbn:
                break
    authors = list(dict.fromkeys(a.strip() for a in metadata.get("creator") or [] if a.strip()))
    authors += [
        c.strip() for c in metadata.get("contributor") or [] if c.strip() and c.strip() not in authors
    ]
    language = _first(metadata.get("language"))
    return RecordData(
        source_id=identifier[:100],
        fields={
            "title": main.strip(),
            "subtitle": subtitle.strip() if sep else None,
            "authors": authors,
            "publisher": (_first(metadata.get("publisher")) or None),
            "year": year_match.group(1) if year_match else None,
            "isbn": isbn,
            "classification": None,
            "call_number": None,
            "subjects": list(dict.fromkeys(s.strip() for s in metadata.get("subject") or [] if s.strip())),
            "language": language[:8] if language else None,
            "ebook_url": None,
        },
    )


def _marc_record(identifier: str, xml: Any) -> RecordData:
    found = xml.find(f".//{{{_MARC_NS}}}record")
    if found is None:
        raise BadRecord("metadata marcxml tidak berisi <record>")
    records = records_from_marcxml(etree.tostring(found))
    data = to_record_data(records[0])
    data.source_id = identifier[:100]  # the OAI identifier is the stable key
    return data


def harvest(
    url: str,
    report: SyncReport,
    state: HarvestState,
    *,
    metadata_prefix: str = "oai_dc",
    from_: str | None = None,
    set_spec: str | None = None,
    timeout: float = 60.0,
    max_retries: int = 3,
) -> Iterator[Change]:
    """Harvest ``url`` with ListRecords (following resumption tokens).

    Args:
        url: the OAI-PMH base URL.
        report: collects skipped records (position ``page:n`` and reason).
        state: updated with the newest datestamp seen.
        metadata_prefix: ``oai_dc`` or ``marcxml``.
        from_: only records changed since this datestamp (incremental harvest).
        set_spec: restrict to one OAI set.
        timeout: seconds per HTTP request.
        max_retries: retries on 503 Retry-After.

    Yields:
        Upserts and deletions.

    Raises:
        OAIHarvestError: an OAI error other than noRecordsMatch, or an unreadable response.
    """
    if metadata_prefix not in PREFIXES:
        raise OAIHarvestError(url, f"metadataPrefix {metadata_prefix!r} tidak didukung ({', '.join(PREFIXES)})")
    client = Sickle(url, max_retries=max_retries, timeout=timeout, default_retry_after=5)
    params: dict[str, Any] = {"metadataPrefix": metadata_prefix, "ignore_deleted": False}
    if from_:
        params["from"] = from_
    if set_spec:
        params["set"] = set_spec
    position = 0
    try:
        for record in client.ListRecords(**params):
            position += 1
            header = record.header
            where = header.identifier or f"rekaman ke-{position}"
            if not header.identifier:
                report.skip(where, "header OAI tanpa identifier")
                continue
            state.note(header.datestamp)
            if header.deleted:
                yield Change(header.identifier[:100])
                continue
            try:
                if metadata_prefix == "marcxml":
                    data = _marc_record(header.identifier, record.xml)
                else:
                    data = dc_record(header.identifier, record.metadata)
            except BadRecord as exc:
                report.skip(where, exc.reason)
                continue
            except Exception as exc:  # noqa: BLE001 - report, never abort
                report.skip(where, f"rekaman tidak bisa dibaca: {type(exc).__name__} {exc}".strip())
                continue
            yield Change(data.source_id, data)
    except NoRecordsMatch:
        log.info("OAI-PMH %s: no records changed since %s", url, from_)
        return
    except OAIError as exc:
        code = type(exc).__name__
        raise OAIHarvestError(url, f"galat OAI {code}: {exc}".strip()) from exc
    except etree.XMLSyntaxError as exc:
        raise OAIHarvestError(url, f"jawaban bukan XML yang sah: {exc}") from exc
    except OSError as exc:  # requests' ConnectionError and timeouts are OSErrors
        raise OAIHarvestError(url, f"server tidak bisa dihubungi: {exc}") from exc
    except (AttributeError, ValueError) as exc:  # Sickle on a page lxml could not recover
        raise OAIHarvestError(url, f"jawaban bukan XML OAI-PMH yang sah ({type(exc).__name__})") from exc
