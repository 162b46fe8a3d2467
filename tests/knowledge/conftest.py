"""Fixtures for the knowledge tests: databases (SQLite, PostgreSQL, SLiMS on MariaDB), real data."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from knowledge.db import make_engine, make_sessionmaker, upgrade

ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = ROOT / ".." / "shared" / "data"


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def shared_data() -> Path:
    """The real third-party data folder (``../shared/data`` beside the repository)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real test data not found at {SHARED_DATA.resolve()}")
    return SHARED_DATA


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """A migrated SQLite knowledge database in a temporary folder."""
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    upgrade(url)
    engine = make_engine(url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def pg_database() -> Iterator[str]:
    """URL of a throw-away PostgreSQL database on 127.0.0.1:5432 (dropped afterwards)."""
    if not _port_open(5432):
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    name = f"pb_catalog_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_sessions(pg_database: str) -> Iterator[sessionmaker[Session]]:
    """A migrated knowledge database on the real PostgreSQL server."""
    upgrade(pg_database)
    engine = make_engine(pg_database)
    yield make_sessionmaker(engine)
    engine.dispose()


def _sql_statements(script: str) -> Iterator[str]:
    """Statements of a mysqldump-style script (one statement ends where a line ends with ``;``)."""
    lines: list[str] = []
    for line in script.splitlines():
        if not lines and (not line.strip() or line.lstrip().startswith("--")):
            continue
        lines.append(line)
        if line.rstrip().endswith(";"):
            statement = "\n".join(lines).strip().rstrip(";").strip()
            lines = []
            if statement:
                yield statement
    if "".join(lines).strip():
        yield "\n".join(lines)


@pytest.fixture
def slims_dsn(shared_data: Path) -> Iterator[str]:
    """A throw-away MariaDB database holding SLiMS 9's own schema and sample data."""
    if not _port_open(3306):
        pytest.skip("MariaDB is not running on 127.0.0.1:3306")
    import pymysql

    name = f"pb_slims_{uuid.uuid4().hex[:8]}"
    admin = pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True)
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        loader = pymysql.connect(
            host="127.0.0.1", port=3306, user="root", database=name, autocommit=True, charset="utf8mb4"
        )
        with loader.cursor() as cur:
            for script in ("senayan.sql", "sampledata.sql"):
                for statement in _sql_statements((shared_data / "slims" / script).read_text(encoding="utf-8")):
                    cur.execute(statement)
        loader.close()
        yield f"mysql://root@127.0.0.1:3306/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


@pytest.fixture
def slims_sql(slims_dsn: str) -> Iterator[Callable[..., None]]:
    """Run a statement on the SLiMS test database (what a librarian does in SLiMS)."""
    import pymysql

    conn = pymysql.connect(
        host="127.0.0.1", port=3306, user="root", database=slims_dsn.rsplit("/", 1)[1], autocommit=True
    )

    def run(statement: str, *args: object) -> None:
        with conn.cursor() as cur:
            cur.execute(statement, args)

    yield run
    conn.close()


class OaiServer:
    """Serves Sickle's recorded OAI-PMH responses; ``routes`` decides which file answers."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.requests: list[dict[str, str]] = []
        self.mode = "normal"  # normal | bad_token | broken | incremental_empty
        self.extra: dict[str, bytes] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/oai"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def answer(self, params: dict[str, str]) -> bytes:
        token = params.get("resumptionToken")
        if params.get("metadataPrefix") in self.extra:
            return self.extra[params["metadataPrefix"]]
        if params.get("metadataPrefix") not in (None, "oai_dc"):
            return (self.folder / "cannotDisseminateFormat.xml").read_bytes()
        if "from" in params and self.mode == "incremental_empty":
            return (self.folder / "noRecordsMatch.xml").read_bytes()
        if token is None:
            return (self.folder / "ListRecords.xml").read_bytes()
        if self.mode == "bad_token" and token == "ListRecords3.xml":
            return (self.folder / "badResumptionToken.xml").read_bytes()
        if self.mode == "broken" and token == "ListRecords4.xml":
            return (self.folder / "ListRecordsBroken.xml").read_bytes()
        page = self.folder / Path(token).name
        if page.exists():
            return page.read_bytes()
        return (self.folder / "badResumptionToken.xml").read_bytes()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                params = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
                server.requests.append(params)
                body = server.answer(params)
                self.send_response(200)
                self.send_header("Content-Type", "text/xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        return Handler

    def __enter__(self) -> OaiServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def oai_server(shared_data: Path) -> Iterator[OaiServer]:
    """Sickle's recorded responses on a local HTTP server (127.0.0.1, free port)."""
    with OaiServer(shared_data / "oai") as server:
        yield server
