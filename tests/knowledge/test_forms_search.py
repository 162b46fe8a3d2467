"""The catalog, events and e-books in the patron's words (issue 14, items 4-5): topics, series
and volumes, titles inside sentences, events by topic, e-books by subject, one work in two forms.
On a real SQLite knowledge base with the demo data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pymarc
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from knowledge.catalog import CatalogSearch, acronyms
from knowledge.db import make_engine, make_sessionmaker, upgrade
from knowledge.demo import load_demo
from knowledge.ebooks import EBookShelf
from knowledge.events import events_about, names_event_kind
from knowledge.kb import KnowledgeBase
from knowledge.models import EBook, Record
from knowledge.series import VolumeRequest, parse_volume, series_number
from knowledge.sources.csv_catalog import import_csv
from knowledge.sources.ebooks_csv import import_ebooks_csv
from knowledge.sources.ical import import_ics
from knowledge.sources.sync import import_file
from knowledge.works import same_work

ROOT = Path(__file__).resolve().parents[2]
ZONE = ZoneInfo("Asia/Jakarta")


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnowledgeBase]:
    url = f"sqlite:///{tmp_path_factory.mktemp('forms') / 'kb.db'}"
    upgrade(url)
    engine = make_engine(url)
    load_demo(make_sessionmaker(engine))
    engine.dispose()
    base = KnowledgeBase(url, ROOT / "knowledge" / "faq", embedding_model="", judge=False)
    yield base
    base.close()


def titles(hits: object) -> list[str]:
    return [h.title for h in hits]  # type: ignore[attr-defined]


# --- topics -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("ada buku resep masakan?", "Mustika Rasa"),
        ("kak ada buku cara budidaya nanas gak? mau coba nanem di kebun", "Nenas"),  # "budidaya" = "budi daya"
        ("ada buku tentang stoikisme gak kak", "Filosofi Teras"),  # typo of "stoisisme"
        ("biografi soekarno ada ga kak", "Bung Karno"),  # old spelling
        ("mau belajar ternak ikan lele sama nila, ada bukunya?", "Buku Pintar Budi Daya 15 Ikan Konsumsi"),
        ("novel tentang sepak bola ada ga?", "Sebelas Patriot"),
        ("buku budaya kuliner zaman kolonial belanda ada ga ya", "Rijsttafel"),  # zaman -> masa
        ("Is there an English-language book on the history of Indonesia?", "A History of Modern Indonesia"),
    ],
)
def test_a_topic_finds_the_books_about_it(kb: KnowledgeBase, question: str, expected: str) -> None:
    found = titles(kb.catalog_topic(question, limit=3))
    assert found and found[0].startswith(expected), (question, found)
    assert all(h.matched == "topic" for h in kb.catalog_topic(question, limit=3))


def test_a_rare_topic_word_outweighs_a_common_one(kb: KnowledgeBase) -> None:
    # "persahabatan" is in many records, "gunung" in one: 5 cm first.
    assert titles(kb.catalog_topic("ada novel tentang persahabatan naik gunung?"))[0] == "5 cm"


def test_no_topic_without_words_the_catalog_knows(kb: KnowledgeBase) -> None:
    for question in ("jam buka kantor samsat", "berapa denda telat balikin buku", "ada wifi gratis ga"):
        assert kb.catalog_topic(question) == [], question
    assert kb.catalog_search.topic_label("buku tentang investasi buat pemula ada gak") == "investasi"


# --- titles inside a sentence -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "title"),
    [
        ("5cm", "5 cm"),  # written without its space
        ("cabaukan", "Ca-Bau-Kan: Hanya Sebuah Dosa"),
        ("kbbi edisi ke 4 ada?", "Kamus Besar Bahasa Indonesia: Edisi Keempat"),  # initials
        ("Halo kak, saya mau tanya buku Antologi Rasa sedang dipinjam atau tidak ya?", "Antologi Rasa"),
        ("serial anak-anak mamak yg burlian ada?", "Burlian: Serial Anak-Anak Mamak"),  # its subtitle
    ],
)
def test_a_title_written_in_a_message_is_a_strong_mention(kb: KnowledgeBase, message: str, title: str) -> None:
    mention = kb.catalog_mentions(message)[0]
    assert mention.hit.title == title and mention.strong, (message, mention)


def test_a_title_right_after_a_kind_of_book_is_clear(kb: KnowledgeBase) -> None:
    mention = kb.catalog_mentions("novel perburuan ada ga kak? yg jaman jepang itu")[0]
    assert mention.hit.title == "Perburuan" and mention.introduced and mention.clear and not mention.strong


def test_words_of_a_question_are_not_titles(kb: KnowledgeBase) -> None:
    # "sama" is no typo of "Saman"; "pulang" in "boleh bawa pulang buku?" is no clear title.
    assert all(m.hit.title != "Saman" for m in kb.catalog_mentions("buku tentang nanem kopi sama pasca panennya"))
    assert not any(m.clear for m in kb.catalog_mentions("boleh bawa pulang buku?"))
    assert acronyms("Kamus Besar Bahasa Indonesia") == {"kbbi"}
    assert "kia" in acronyms("Buku Kesehatan Ibu dan Anak") and acronyms("Laskar Pelangi") == frozenset()


@pytest.mark.parametrize(
    ("message", "title"),
    [
        ("rainbow troops ada?", "The Rainbow Troops"),  # filed without its leading article
        ("negeri lima menara", "Negeri 5 Menara"),  # number words are digits
        ("sebelas patriot", "Sebelas Patriot"),
        ("critical 11 ika natassa", "Critical Eleven"),
        ("ada al quran terjemahan?", "Al-Qur'an dan Terjemahnya"),  # by stems, without "dan"
    ],
)
def test_titles_by_article_numbers_and_stems(kb: KnowledgeBase, message: str, title: str) -> None:
    mention = kb.catalog_mentions(message)[0]
    assert mention.hit.title == title and mention.title_score >= 90, (message, mention)


def test_an_author_by_one_uncommon_name_word_and_the_books_subjects_cover_the_message(kb: KnowledgeBase) -> None:
    mention = kb.catalog_mentions("gadis pantai nya pramudya")[0]  # old spelling "Pramoedya"
    assert mention.hit.title == "Gadis Pantai" and mention.author is not None and mention.strong
    # "bola" is a subject of "Sebelas Patriot" (Sepak bola): it describes the book too.
    assert kb.catalog_mentions("sebelas patriot yg soal bola")[0].strong


def test_a_title_asked_for_by_the_words_around_it(kb: KnowledgeBase) -> None:
    asked = kb.catalog_mentions("adik saya pengen baca kubah, ada?")[0]
    assert asked.hit.title == "Kubah" and asked.asked_for and asked.clear
    after = kb.catalog_mentions("kakek suka sejarah, arok dedes bisa dipinjam?")[0]
    assert after.hit.title == "Arok Dedes" and after.asked_for
    # An everyday word that happens to be a title, asked nothing of, is no title.
    assert not any(m.asked_for for m in kb.catalog_mentions("boleh bawa pulang buku?"))


# --- series and volumes -------------------------------------------------------------------------


def test_volume_requests_are_read() -> None:
    assert parse_volume("tetralogi buru jilid 1") == VolumeRequest(number=1)
    assert parse_volume("tetralogi laskar pelangi buku ke 3") == VolumeRequest(number=3)
    assert parse_volume("buku terakhir tetralogi buru (ke-4) masih ada?") == VolumeRequest(number=4)
    assert parse_volume("ada buku keempat laskar pelangi?") == VolumeRequest(number=4)
    assert parse_volume("lanjutan laskar pelangi") == VolumeRequest(next=True)
    assert parse_volume("buku terakhir serial bumi") == VolumeRequest(last=True)
    for no_volume in ("negeri 5 menara", "dilan 1990 ada?", "ada buku 5 cm", "lima sekawan"):
        assert parse_volume(no_volume) is None, no_volume
    assert (series_number("jil. 2"), series_number("Jilid kedua"), series_number(None)) == (2, 2, None)


@pytest.mark.parametrize(
    ("question", "title"),
    [
        ("tetralogi pulau buru yang ketiga ada ga", "Jejak Langkah"),
        ("kak ada buku kedua tetralogi buru pram?", "Anak Semua Bangsa"),
        ("buku terakhir tetralogi buru masih ada?", "Rumah Kaca"),  # the last volume
        ("lanjutan laskar pelangi ada?", "Sang Pemimpi"),  # the one after the title written
        ("lanjutan dilan 1991 yang ketiga apa ya", "Milea: Suara dari Dilan"),  # series of the title
        ("lanjutan novel pulang tere liye ada gak? yg kedua", "Pergi"),  # the author picks "Pulang"
        ("trilogi negeri 5 menara buku kedua", "Ranah 3 Warna"),
    ],
)
def test_the_volume_asked_for_is_found_by_the_series_statement(kb: KnowledgeBase, question: str, title: str) -> None:
    answer = kb.catalog_volume(question)
    assert answer is not None and titles(answer.hits) == [title], (question, answer)


def test_volume_numbers_glued_previous_and_after_are_read() -> None:
    assert parse_volume("serial bumi jilid2 ada?") == VolumeRequest(number=2)
    assert parse_volume("tetralogi buru ke-3") == VolumeRequest(number=3)
    assert parse_volume("yang sebelumnya sang pemimpi apa") == VolumeRequest(previous=True)
    assert parse_volume("setelah bumi manusia lanjut baca apa") == VolumeRequest(next=True)
    # A word of the title written is no "after": "Habis Gelap Terbitlah Terang".
    title = frozenset("habis gelap terbitlah terang".split())
    assert parse_volume("habis gelap terbitlah terang ada?", title_words=title) is None


@pytest.mark.parametrize(
    ("question", "title"),
    [
        ("yang sebelumnya rumah kaca apa ya", "Jejak Langkah"),  # the one before the title written
        ("setelah sang pemimpi baca yg mana", "Edensor"),  # "after" written before the title
        ("kak tetralogi pramudya yg pertama ada?", "Bumi Manusia"),  # the author's one tetralogy
        ("dwilogi andrea hirata buku ke-2", "Cinta di Dalam Gelas"),
        ("trilogi menara 5 yang kedua", "Ranah 3 Warna"),  # all but one word of its name
        ("serial bumi ke6", None),  # glued number; no sixth volume
    ],
)
def test_volumes_by_relative_place_author_and_partial_name(kb: KnowledgeBase, question: str, title: str | None) -> None:
    answer = kb.catalog_volume(question)
    assert answer is not None and titles(answer.hits) == ([title] if title else []), (question, answer)


def test_unnumbered_volumes_take_their_place_by_year(kb: KnowledgeBase) -> None:
    # "Komet" has no number in its series statement: after the four numbered ones.
    answer = kb.catalog_volume("serial bumi buku kelima")
    assert answer is not None and titles(answer.hits) == ["Komet"]
    # No volume numbered at all: by year ("Burlian" 2009, then "Pukat" 2010).
    answer = kb.catalog_volume("lanjutan burlian ada?")
    assert answer is not None and titles(answer.hits) == ["Pukat: Serial Anak-Anak Mamak"]


def test_a_volume_the_catalog_lacks_is_no_other_volume(kb: KnowledgeBase) -> None:
    answer = kb.catalog_volume("tetralogi buru jilid 7")
    assert answer is not None and (answer.series, answer.number, answer.hits) == ("Tetralogi Buru", 7, ())
    assert kb.catalog_volume("jam buka hari pertama puasa") is None  # no series named


def test_series_statements_are_imported_from_csv_and_marc(tmp_path: Path, sessions: sessionmaker[Session]) -> None:
    csv_path = tmp_path / "katalog.csv"
    csv_path.write_text(
        "ID Katalog,Judul,Pengarang,Judul Seri,Jilid,No Barcode,Lokasi,Status\n"
        "A1,Anak Semua Bangsa,\"Toer, Pramoedya Ananta\",Tetralogi Buru,2,X1,Rak,available\n"
        "A2,Jejak Langkah,\"Toer, Pramoedya Ananta\",Tetralogi Buru ; 3,,X2,Rak,available\n",
        encoding="utf-8",
    )
    assert import_csv(sessions, csv_path).added == 2
    record = pymarc.Record(force_utf8=True)
    record.add_field(pymarc.Field(tag="001", data="M-1"))
    record.add_field(pymarc.Field(tag="245", indicators=pymarc.Indicators("1", "0"),
                                  subfields=[pymarc.Subfield("a", "Rumah kaca /")]))
    record.add_field(pymarc.Field(tag="490", indicators=pymarc.Indicators("1", " "),
                                  subfields=[pymarc.Subfield("a", "Tetralogi Buru ;"), pymarc.Subfield("v", "jil. 4")]))
    marc = tmp_path / "rumah.mrc"
    marc.write_bytes(record.as_marc())
    assert import_file(sessions, marc).added == 1
    with sessions() as session:
        got = {r.title: (r.series, r.series_number) for r in session.scalars(select(Record))}
    assert got == {"Anak Semua Bangsa": ("Tetralogi Buru", 2), "Jejak Langkah": ("Tetralogi Buru", 3),
                   "Rumah kaca": ("Tetralogi Buru", 4)}
    answer = CatalogSearch(sessions).volume("tetralogi buru jilid 4")
    assert answer is not None and titles(answer.hits) == ["Rumah kaca"]


# --- events by topic ----------------------------------------------------------------------------


@pytest.fixture
def calendar(tmp_path: Path, sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """A calendar of events in the coming weeks (whatever day the tests run)."""
    start = datetime.now(ZONE).replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(days=10)

    def event(uid: str, days: int, summary: str, description: str) -> str:
        stamp = (start + timedelta(days=days)).strftime("%Y%m%dT%H%M%S")
        return (f"BEGIN:VEVENT\nUID:{uid}\nDTSTART;TZID=Asia/Jakarta:{stamp}\nSUMMARY:{summary}\n"
                f"DESCRIPTION:{description}\nEND:VEVENT\n")

    ics = tmp_path / "acara.ics"
    ics.write_text(
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:test\n"
        + event("a", 0, "Lomba Mewarnai Anak", "Lomba mewarnai untuk siswa TK dan SD. Gratis.")
        + event("b", 3, "Pelatihan Menulis Kreatif", "Pelatihan menulis cerpen dan puisi bersama guru Bahasa Indonesia.")
        + event("c", 5, "Dongeng Sabtu Ceria", "Mendongeng untuk anak usia 4-10 tahun.")
        + event("d", 7, "Kelas Literasi Digital", "Memakai aplikasi iPusnas dan mengenali hoaks.")
        + "END:VCALENDAR\n",
        encoding="utf-8",
    )
    assert import_ics(sessions, str(ics)).added == 4
    return sessions


@pytest.mark.parametrize(
    ("question", "title"),
    [
        ("ada lomba buat anak?", "Lomba Mewarnai Anak"),  # kinds and audiences alone, all known
        ("workshop menulis kapan?", "Pelatihan Menulis Kreatif"),  # workshop = pelatihan
        ("ada kelas bikin cerpen sama puisi gak min?", "Pelatihan Menulis Kreatif"),  # the description
        ("Do you have storytelling sessions for kids?", "Dongeng Sabtu Ceria"),  # English words
        ("Saya ingin belajar menggunakan aplikasi iPusnas, apakah ada kelasnya?", "Kelas Literasi Digital"),
        # Ages and counts are no topic; everyday framing words ("suka", "banget") neither.
        ("anak saya 6thn suka banget didongengin, ada acaranya?", "Dongeng Sabtu Ceria"),
        ("lomba buat anak umur 5 taun ada?", "Lomba Mewarnai Anak"),
        ("ada lomba buat si kecil yg masih tk?", "Lomba Mewarnai Anak"),  # "kecil", "tk": children
        # "mengenali" is stemmed as "kenal" too (Sastrawi alone makes it "nali").
        ("pelatihan buat ngenalin hoaks kapan?", "Kelas Literasi Digital"),
    ],
)
def test_events_are_found_by_their_topic(calendar: sessionmaker[Session], question: str, title: str) -> None:
    now = datetime.now(ZONE)
    found, named = events_about(calendar, question, now, now + timedelta(days=60))
    assert named and found and found[0].title == title, (question, [e.title for e in found])


def test_the_public_serves_every_audience_and_further_unknown_words_weigh_less(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    upgrade(url)
    sessions = make_sessionmaker(make_engine(url))
    start = datetime.now(ZONE).replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(days=3)
    stamp = start.strftime("%Y%m%dT%H%M%S")
    ics = tmp_path / "acara.ics"
    ics.write_text(
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:test\nBEGIN:VEVENT\nUID:x\n"
        f"DTSTART;TZID=Asia/Jakarta:{stamp}\nSUMMARY:Kelas Surel dan Dokumen\n"
        "DESCRIPTION:Belajar membuat surel dan mengetik dokumen. Terbuka untuk umum.\nEND:VEVENT\n"
        f"BEGIN:VEVENT\nUID:y\nDTSTART;TZID=Asia/Jakarta:{stamp}\nSUMMARY:Dongeng Anak\n"
        "DESCRIPTION:Mendongeng untuk anak TK.\nEND:VEVENT\n"
        f"BEGIN:VEVENT\nUID:z\nDTSTART;TZID=Asia/Jakarta:{stamp}\nSUMMARY:Lomba Menulis Puisi\n"
        "DESCRIPTION:Lomba puisi untuk pelajar SMA.\nEND:VEVENT\nEND:VCALENDAR\n",
        encoding="utf-8",
    )
    import_ics(sessions, str(ics))
    now = datetime.now(ZONE)
    # "email" is "surel"; an event open to the public serves "ibu-ibu arisan" too.
    found, _ = events_about(sessions, "ada kelas bikin email buat ibu2 arisan?", now, now + timedelta(days=30))
    assert [e.title for e in found] == ["Kelas Surel dan Dokumen"]
    found, _ = events_about(sessions, "kelas bahasa jepang ada?", now, now + timedelta(days=30))
    assert found == []


def test_a_topic_no_event_covers_names_no_event(calendar: sessionmaker[Session]) -> None:
    now = datetime.now(ZONE)
    for question in ("ada turnamen catur di perpus gak kak?", "kelas bahasa inggris gratis ada ga min?",
                     "Is there a photography class I could join?", "kapan ada donor darah di perpus?"):
        found, named = events_about(calendar, question, now, now + timedelta(days=60))
        assert named and found == [], (question, [e.title for e in found])
    assert events_about(calendar, "ada acara apa aja di perpus?", now, now + timedelta(days=60)) == ([], False)
    assert names_event_kind("ada lomba buat anak?") and not names_event_kind("jam buka hari sabtu?")


# --- e-books and one work in two forms ---------------------------------------------------------


def test_an_ebook_is_described_by_its_print_records_subjects_too(kb: KnowledgeBase) -> None:
    # The e-book "Sitti Nurbaya" lists no "Kawin paksa"; its print record does: one work.
    found = kb.ebooks("ebook tentang kawin paksa ada?")
    assert [b.title for b in found] == ["Sitti Nurbaya: Kasih Tak Sampai"]


def test_an_address_word_after_buat_names_who_the_book_is_for(kb: KnowledgeBase) -> None:
    # "bu" addresses the librarian; "buat ibu" names the readers.
    assert kb.catalog_search.topic_label("bu, ada buku tentang kesehatan?") == "kesehatan"
    assert "ibu" in kb.catalog_search.topic_label("ada buku buat ibu menyusui?")
    near = kb.ebook_on_topic("pdf buat ibu menyusui ada?")
    assert near is not None and near.title == "Buku Kesehatan Ibu dan Anak"


def test_ebooks_are_found_on_the_messages_words(kb: KnowledgeBase) -> None:
    def first(question: str) -> str | None:
        found = kb.ebooks(question)
        return found[0].title if found else None

    assert first("ebook tentang stoikisme ada?") == "Filosofi Teras"
    assert first("siti nurbaya versi digital ada ga kak") == "Sitti Nurbaya: Kasih Tak Sampai"  # "siti" ~ "sitti"
    assert first("ebook novel minangkabau ada?") == "Sitti Nurbaya: Kasih Tak Sampai"
    assert first("Do you have any e-book about the history of South Sumatra or Palembang?") == "Sriwijaya"
    for none in ("ebook atomic habits ada ga kak?", "ebook resep masakan ada?", "ebook budidaya karet ada min?",
                 "Any e-book on computer programming?"):
        assert kb.ebooks(none) == [], none
    assert len(kb.ebooks("perpus punya ebook ga?")) == 5  # no subject: a selection
    # Words no e-book has, beside the topic: the e-book whose print record is the catalog's best
    # book on it; not an e-book sharing one word with a topic the catalog has a better book on.
    near = kb.ebook_on_topic("ebook cara budidaya nanas ada kak? buat kebun di rumah")
    assert near is not None and near.title == "Nenas: Budi Daya dan Pascapanen"
    assert kb.ebook_on_topic("ebook budidaya karet ada min?") is None


def test_a_print_record_and_its_ebook_are_one_work(kb: KnowledgeBase) -> None:
    assert same_work("Sitti Nurbaya: Kasih Tak Sampai", ["Rusli, Marah"], "Sitti Nurbaya", ["Marah Rusli"])
    assert not same_work("Pulang", ["Liye, Tere"], "Pulang", ["Chudori, Leila S."])
    for ebook in kb.ebooks("", limit=20):
        printed = kb.print_of(ebook)
        assert printed is not None, ebook.title
        back = kb.ebook_of(printed)
        assert back is not None and back.title == ebook.title, (ebook.title, printed.title)
    atomic = kb.catalog_mentions("atomic habits")[0].hit
    assert kb.ebook_of(atomic) is None


@pytest.mark.postgres
def test_topics_volumes_and_mentions_on_postgresql(pg_sessions: sessionmaker[Session]) -> None:
    load_demo(pg_sessions)
    search = CatalogSearch(pg_sessions)
    assert titles(search.topic("ada buku resep masakan?"))[:1] == ["Mustika Rasa: Resep Masakan Indonesia Warisan Sukarno"]
    assert titles(search.topic("ada novel tentang persahabatan naik gunung?"))[:1] == ["5 cm"]
    answer = search.volume("tetralogi pulau buru yang ketiga ada ga")
    assert answer is not None and titles(answer.hits) == ["Jejak Langkah"]
    assert search.mentions("cabaukan")[0].hit.title == "Ca-Bau-Kan: Hanya Sebuah Dosa"


def test_the_ebook_shelf_is_read_once_per_version_of_the_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    load_demo(sessions)
    shelf = EBookShelf(sessions, check_interval=3600)
    first = shelf.shelf()
    assert shelf.shelf() is first  # within the interval: the same shelf, no statement
    assert [b.title for b in shelf.find("ebook tentang stoikisme ada?")] == ["Filosofi Teras"]
    assert shelf.find("ebook cara beternak kambing ada?") == []
    goats = tmp_path / "ebooks.csv"
    goats.write_text(
        "ebook_id,title,authors,publisher,year,format,platform,url,subjects\n"
        "EB-9001,Beternak Kambing Perah,\"Sari, Dewi\",Penebar Swadaya,2020,pdf,iPusnas,https://ipusnas.id/,"
        "Peternakan; Kambing\n", encoding="utf-8")
    import_ebooks_csv(sessions, goats, source="test")
    assert shelf.find("ebook cara beternak kambing ada?") == []  # still the cached shelf
    fresh = EBookShelf(sessions, check_interval=0)
    fresh.shelf()
    assert [b.title for b in fresh.find("ebook cara beternak kambing ada?")] == ["Beternak Kambing Perah"]
    shelf.check_interval = 0  # the next read asks whether the data changed: it did
    assert [b.title for b in shelf.find("ebook cara beternak kambing ada?")] == ["Beternak Kambing Perah"]
    assert shelf.shelf() is shelf.shelf()  # unchanged data: the same shelf again
    assert shelf.find("ebook tentang susu kambing ada?") == []
    with sessions.begin() as session:  # a re-synced subject, same title and link
        goat = session.scalars(select(EBook).where(EBook.source_id == "EB-9001")).one()
        goat.subjects = ["Peternakan", "Kambing", "Susu"]
    assert [b.title for b in shelf.find("ebook tentang susu kambing ada?")] == ["Beternak Kambing Perah"]
    # The same answers as a shelf loaded afresh.
    for question in ("ebook novel minangkabau ada?", "siti nurbaya versi digital ada ga kak", "perpus punya ebook ga?"):
        assert shelf.find(question) == EBookShelf(sessions).find(question), question
    engine.dispose()
