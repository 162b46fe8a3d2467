"""OAI-PMH harvesting: the real Sickle harvester against Sickle's recorded responses, served locally."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from knowledge.models import Record
from knowledge.sources.records import Change, RecordData
from knowledge.sources.report import SyncReport
from knowledge.sources.sync import SyncFailed, get_watermark, run_sync, sync_oai, sync_state

from .conftest import OaiServer

DELETED = "oai:test.example.com:1585310"
KEPT = "oai:test.example.com:1585322"


def _seed(sessions: sessionmaker[Session], *ids: str) -> None:
    changes = [Change(i, RecordData(i, {"title": f"Lama {i}"})) for i in ids]
    run_sync(sessions, "oai", changes, SyncReport("seed"))


def _titles(sessions: sessionmaker[Session]) -> dict[str, str]:
    with sessions() as session:
        return dict(session.execute(select(Record.source_id, Record.title).where(Record.source == "oai")).all())


def test_harvest_follows_resumption_tokens_and_honours_deletions(
    oai_server: OaiServer, sessions: sessionmaker[Session]
) -> None:
    _seed(sessions, DELETED)
    report = sync_oai(sessions, oai_server.url)
    tokens = [r.get("resumptionToken") for r in oai_server.requests]
    assert tokens == [None, "ListRecords2.xml", "ListRecords3.xml", "ListRecords4.xml"]
    assert oai_server.requests[0] == {"verb": "ListRecords", "metadataPrefix": "oai_dc"}
    assert _titles(sessions) == {KEPT: "Sample Title"}
    assert report.deleted == 1 and report.added == 1
    assert [r for _, r in report.skipped] == ["header OAI tanpa identifier"]  # a recorded page has a header without one
    with sessions() as session:
        record = session.scalars(select(Record).where(Record.source_id == KEPT)).one()
        assert (record.authors, record.publisher, record.year, record.language) == (
            ["John Doe"], "Sample Publisher", "2010", "eng",
        )
    assert get_watermark(sessions, "oai") == "2011-07-18T16:31:00Z"


def test_incremental_harvest_sends_from_and_handles_no_records_match(
    oai_server: OaiServer, sessions: sessionmaker[Session]
) -> None:
    sync_oai(sessions, oai_server.url)
    oai_server.requests.clear()
    oai_server.mode = "incremental_empty"
    report = sync_oai(sessions, oai_server.url)
    assert oai_server.requests == [
        {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2011-07-18T16:31:00Z"}
    ]
    assert (report.added, report.updated, report.deleted) == (0, 0, 0)
    assert get_watermark(sessions, "oai") == "2011-07-18T16:31:00Z"  # unchanged
    # A second full harvest of the same data changes nothing.
    again = sync_oai(sessions, oai_server.url, full=True)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 1)


@pytest.mark.parametrize("mode, reason", [("bad_token", "BadResumptionToken"), ("broken", "XML")])
def test_a_failed_harvest_leaves_the_previous_knowledge_serving(
    oai_server: OaiServer, sessions: sessionmaker[Session], mode: str, reason: str
) -> None:
    _seed(sessions, DELETED, "oai:other:1")
    before = _titles(sessions)
    oai_server.mode = mode
    with pytest.raises(SyncFailed) as failure:
        sync_oai(sessions, oai_server.url)
    assert reason in failure.value.reason
    assert _titles(sessions) == before  # the deletion on page 1 was not applied either
    [state] = [s for s in sync_state(sessions) if s["source"] == "oai"]
    assert state["ok"] is False and "gagal" in str(state["summary"])


def test_unsupported_metadata_format_is_an_oai_error(oai_server: OaiServer, sessions: sessionmaker[Session]) -> None:
    oai_server.extra.clear()
    with pytest.raises(SyncFailed) as failure:
        sync_oai(sessions, oai_server.url, metadata_prefix="marcxml")
    assert "CannotDisseminateFormat" in failure.value.reason


def test_marcxml_metadata_prefix(oai_server: OaiServer, sessions: sessionmaker[Session], shared_data: Path) -> None:
    # Wrap pymarc's real MARCXML records in an OAI-PMH ListRecords envelope.
    tree = ET.parse(shared_data / "marc" / "pymarc-batch.xml")
    marc = [ET.tostring(r, encoding="unicode") for r in tree.getroot().iter("{http://www.loc.gov/MARC21/slim}record")]
    items = "".join(
        f"<record><header><identifier>oai:koha:{i}</identifier><datestamp>2026-11-0{i}</datestamp></header>"
        f"<metadata>{xml}</metadata></record>"
        for i, xml in enumerate(marc, start=1)
    )
    envelope = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2026-11-25T00:00:00Z</responseDate>'
        '<request verb="ListRecords" metadataPrefix="marcxml">http://koha/oai</request>'
        f"<ListRecords>{items}</ListRecords></OAI-PMH>"
    )
    oai_server.extra["marcxml"] = envelope.encode()
    report = sync_oai(sessions, oai_server.url, metadata_prefix="marcxml")
    assert report.added == 2, report.skipped
    titles = _titles(sessions)
    assert titles == {"oai:koha:1": "The Great Ray Charles", "oai:koha:2": "The White House"}
    assert get_watermark(sessions, "oai") == "2026-11-02"
    with sessions() as session:
        assert session.scalar(select(func.count(Record.id))) == 2
