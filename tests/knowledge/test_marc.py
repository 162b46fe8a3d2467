"""MARC 21 import on real records: 2,716 Library of Congress Indonesian records, pymarc's files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pymarc
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from knowledge.availability import availability, describe
from knowledge.models import Copy, CopyStatus, Record
from knowledge.sources.formats import detect_format
from knowledge.sources.marc import _binary_records, read_marc
from knowledge.sources.report import SyncReport
from knowledge.sources.sync import import_file


def test_formats_are_detected_from_content(shared_data: Path, tmp_path: Path) -> None:
    marc = shared_data / "marc"
    assert detect_format(marc / "lc-indonesian-2716.mrc") == "marc"
    assert detect_format(marc / "pymarc-test.dat") == "marc"
    assert detect_format(marc / "pymarc-batch.xml") == "marcxml"
    renamed = tmp_path / "export.bin"
    renamed.write_bytes((marc / "pymarc-marc8.dat").read_bytes())
    assert detect_format(renamed) == "marc"
    csv = tmp_path / "katalog.txt"
    csv.write_text("record_id,title\n1,Laskar Pelangi\n")
    assert detect_format(csv) == "csv"


def test_lc_indonesian_records_import_and_reimport_changes_nothing(
    shared_data: Path, sessions: sessionmaker[Session]
) -> None:
    path = shared_data / "marc" / "lc-indonesian-2716.mrc"
    first = import_file(sessions, path)
    assert (first.added, first.skipped) == (2716, [])
    second = import_file(sessions, path)
    assert (second.added, second.updated, second.deleted, second.unchanged) == (0, 0, 0, 2716)
    with sessions() as session:
        assert session.scalar(select(func.count(Record.id))) == 2716
        r = session.scalars(select(Record).where(Record.source_id == "00271630")).one()
        assert r.title == "Pengetahuan lingkungan dan sosial budaya daerah Nusa Tenggara Timur"
        assert r.subtitle == "muatan lokal Kupang"
        assert (r.publisher, r.year, r.language) == ("Pabelan", "1998", "ind")
        batik = session.scalars(select(Record).where(Record.source_id == "00369530")).one()
        assert batik.isbn == "9070962268"
        assert batik.classification == "746.6/620959807459822"
        assert batik.authors == ["Oss, Fred W. van", "Nederlands Textielmuseum", "Museum Tekstil (Jakarta, Indonesia)"]
        assert batik.subjects == ["Batik -- Indonesia -- Java"]
        # The only 856 in the file is a table of contents, not an e-book.
        toc = session.scalars(select(Record).where(Record.source_id == "00369520")).one()
        assert toc.ebook_url is None
        with_isbn = session.scalar(select(func.count(Record.id)).where(Record.isbn.is_not(None)))
        assert 750 <= with_isbn <= 885  # 885 have a 020; some hold only $z or no valid ISBN


def test_marc8_record_is_decoded(shared_data: Path) -> None:
    report = SyncReport("t")
    with (shared_data / "marc" / "pymarc-marc8.dat").open("rb") as stream:
        [(position, record)] = list(_binary_records(stream, report, "pymarc-marc8.dat"))
    assert position == 1
    assert "De la solitude à la communauté" in record["500"].value()
    [data] = list(read_marc(shared_data / "marc" / "pymarc-marc8.dat", report))
    assert data.fields["title"] == "Escape from loneliness"
    assert data.fields["authors"] == ["Tournier, Paul"]
    assert data.fields["subjects"][:2] == ["Loneliness", "Self"]


def test_broken_records_are_reported_with_position_and_never_abort(
    shared_data: Path, sessions: sessionmaker[Session]
) -> None:
    report = import_file(sessions, shared_data / "marc" / "pymarc-bad_records.mrc")
    assert report.added == 1  # the one good record (it appears twice: the copy is reported)
    where = [w for w, _ in report.skipped]
    assert where[:7] == [f"pymarc-bad_records.mrc#{i}" for i in range(2, 8)] + ["pymarc-bad_records.mrc#8"] or len(where) == 8
    reasons = " ".join(r for _, r in report.skipped)
    assert "BaseAddressInvalid" in reasons and "terpotong" in reasons and "ganda" in reasons
    # A valid file imported next to it works normally.
    assert import_file(sessions, shared_data / "marc" / "pymarc-test.dat").added == 10


def test_marcxml_collections(shared_data: Path, sessions: sessionmaker[Session]) -> None:
    report = import_file(sessions, shared_data / "marc" / "pymarc-batch.xml")
    assert report.added == 2
    utf8 = import_file(sessions, shared_data / "marc" / "pymarc-utf8.xml", fmt="marcxml")
    assert utf8.added == 1
    with sessions() as session:
        zen = session.scalars(select(Record).where(Record.title == "Zen Classics")).one()
        assert zen.ebook_url and zen.ebook_url.startswith("http://www.aspresolver.com/")
        ray = session.scalars(select(Record).where(Record.title == "The Great Ray Charles")).one()
        assert ray.authors == ["Charles, Ray"] and "Jazz -- 1951-1960" in ray.subjects


def _record_with_holdings() -> pymarc.Record:
    record = pymarc.Record(force_utf8=True)
    record.leader = "00000nam a2200000 a 4500"
    record.add_field(pymarc.Field(tag="001", data="KOHA-77"))
    record.add_field(
        pymarc.Field(
            tag="245", indicators=pymarc.Indicators("1", "0"),
            subfields=[pymarc.Subfield("a", "Laskar pelangi /"), pymarc.Subfield("c", "Andrea Hirata.")],
        )
    )
    record.add_field(
        pymarc.Field(tag="100", indicators=pymarc.Indicators("1", " "), subfields=[pymarc.Subfield("a", "Hirata, Andrea,")])
    )
    record.add_field(
        pymarc.Field(
            tag="264", indicators=pymarc.Indicators(" ", "1"),
            subfields=[pymarc.Subfield("a", "Yogyakarta :"), pymarc.Subfield("b", "Bentang,"), pymarc.Subfield("c", "2005.")],
        )
    )
    record.add_field(pymarc.Field(tag="084", indicators=pymarc.Indicators(" ", " "), subfields=[pymarc.Subfield("a", "899.221 3")]))
    record.add_field(
        pymarc.Field(tag="020", indicators=pymarc.Indicators(" ", " "), subfields=[pymarc.Subfield("a", "979-3062-79-7 (pbk.)")])
    )
    for barcode, extra in (
        ("B1", []),
        ("B2", []),
        ("B3", [pymarc.Subfield("q", "2026-11-28")]),
        ("B4", [pymarc.Subfield("7", "1")]),
        ("B5", [pymarc.Subfield("1", "1")]),
    ):
        record.add_field(
            pymarc.Field(
                tag="952", indicators=pymarc.Indicators(" ", " "),
                subfields=[
                    pymarc.Subfield("a", "PUSAT"), pymarc.Subfield("b", "PUSAT"),
                    pymarc.Subfield("c", "Rak Fiksi Lantai 2"), pymarc.Subfield("o", "899.221 3 HIR l"),
                    pymarc.Subfield("p", barcode), *extra,
                ],
            )
        )
    return record


def test_koha_952_holdings_become_copies_with_availability(
    tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    path = tmp_path / "koha.mrc"
    path.write_bytes(_record_with_holdings().as_marc())
    report = import_file(sessions, path)
    assert report.added == 1, report.skipped
    with sessions() as session:
        record = session.scalars(select(Record).where(Record.source_id == "KOHA-77")).one()
        assert (record.title, record.authors, record.year, record.publisher) == (
            "Laskar pelangi", ["Hirata, Andrea"], "2005", "Bentang",
        )
        assert record.classification == "899.221 3" and record.isbn == "9793062797"
        copies = list(session.scalars(select(Copy).where(Copy.record_id == record.id).order_by(Copy.barcode)))
        assert [c.status for c in copies] == [
            CopyStatus.AVAILABLE, CopyStatus.AVAILABLE, CopyStatus.ON_LOAN, CopyStatus.REFERENCE, CopyStatus.LOST,
        ]
        assert copies[2].due_date == date(2026, 11, 28)
        av = availability(copies)
    assert describe(av).startswith("2 dari 4 eksemplar tersedia di Rak Fiksi Lantai 2, no. panggil 899.221 3 HIR l")
