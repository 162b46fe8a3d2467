"""Link buttons (an announcement's link) as each platform's own URL button: the renderers, the
outbox's stored form (old rows too), and the wire bodies the local fakes accept."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.app import create_app
from bot.channel_models import OutboxItem
from bot.keys import outbox_key, sessions_key
from bot.messages import Button, LinkButton, Outgoing
from bot.models import Conversation, utcnow
from bot.render import (
    outgoing_from_json,
    outgoing_to_json,
    render_meta,
    render_telegram,
    render_whatsapp,
    shorten,
    utf8_len,
)
from tests.bot.channels.conftest import outbox_idle, whatsapp_settings
from tests.fakes import FakeGraph, FakeTelegram, FakeWhatsApp

LINK = LinkButton("Daftar di sini", "https://perpustakaan.example.id/daftar")
LONG = LinkButton("Pendaftaran Lomba Mewarnai Tingkat SD se-Kota Prabumulih Tahun Ini", "https://x.example.id/lomba")
POSTER = "https://perpustakaan.example.id/poster.jpg"


def test_shorten_cuts_between_words_with_an_ellipsis() -> None:
    assert shorten("Daftar di sini", 20) == "Daftar di sini"
    assert shorten(LONG.title, 20) == "Pendaftaran Lomba…" and len(shorten(LONG.title, 20)) <= 20
    assert shorten("Pendaftaranlombamewarnaiku", 20) == "Pendaftaranlombamew…"  # one long word: cut inside
    assert shorten("  Buka\n  katalog  ", 20) == "Buka katalog"
    assert LinkButton("  ", "https://x.id").label == "Buka tautan"  # no title: the default one


def test_telegram_url_button_on_the_last_text_or_on_the_photo() -> None:
    (part,) = render_telegram(Outgoing(text="Dongeng Sabtu <pagi>", link_buttons=(LINK,))).parts
    assert part.photo is None and part.text == "Dongeng Sabtu &lt;pagi&gt;"
    assert part.reply_markup() == {"inline_keyboard": [[{"text": "Daftar di sini", "url": LINK.url}]]}
    # With an image: one sendPhoto, the text as its caption, the button on it.
    (photo,) = render_telegram(Outgoing(text="Dongeng Sabtu", image=POSTER, link_buttons=(LINK,))).parts
    assert photo.photo == POSTER and photo.text == "Dongeng Sabtu" and photo.reply_markup() is not None
    # A text over the 1024-character caption goes first; the photo keeps the button.
    long_text = "Kalimat pengumuman yang panjang. " * 40
    text_part, photo = render_telegram(Outgoing(text=long_text, image=POSTER, link_buttons=(LINK,))).parts
    assert text_part.photo is None and text_part.keyboard == () and photo.text == "" and photo.keyboard
    # Choices first, then the link; a long title shortened; a link alone gets a prompt.
    rendering = render_telegram(Outgoing(buttons=(Button("Jam buka", "/jam"),), link_buttons=(LONG,)))
    rows = rendering.parts[0].reply_markup()["inline_keyboard"]
    assert rows[0] == [{"text": "Jam buka", "callback_data": "/jam"}] and rows[1][0]["url"] == LONG.url
    assert len(rows[1][0]["text"]) <= 64 and rows[1][0]["text"].endswith("…")
    (alone,) = render_telegram(Outgoing(link_buttons=(LINK,))).parts
    assert alone.text == "Silakan buka tautan berikut:"


def test_messenger_and_instagram_button_template() -> None:
    (template,) = render_meta(Outgoing(text="Dongeng Sabtu pagi.", link_buttons=(LONG,)), channel="messenger")
    payload = template["attachment"]["payload"]
    assert template["attachment"]["type"] == "template" and payload["template_type"] == "button"
    assert payload["text"] == "Dongeng Sabtu pagi."
    (button,) = payload["buttons"]
    assert button["type"] == "web_url" and button["url"] == LONG.url and len(button["title"]) <= 20
    # Over 640 characters: the text as text messages first, the template last with a short text.
    long_text = "Kalimat pengumuman yang cukup panjang. " * 30
    parts = render_meta(Outgoing(text=long_text, image=POSTER, link_buttons=(LINK,)), channel="messenger")
    assert "".join(p.get("text", "") for p in parts[:-2]).replace(" ", "") == long_text.replace(" ", "")
    assert parts[-2]["attachment"]["type"] == "image"
    assert parts[-1]["attachment"]["payload"]["text"] == "Silakan buka tautan berikut:"
    # Instagram: the template too, but 640 characters can exceed its 1000 bytes of text.
    emoji_text = "📚📚📚 " * 150  # 600 characters, 1950 bytes
    (messenger,) = render_meta(Outgoing(text=emoji_text, link_buttons=(LINK,)), channel="messenger")
    assert messenger["attachment"]["payload"]["text"] == emoji_text.strip()
    parts = render_meta(Outgoing(text=emoji_text, link_buttons=(LINK,)), channel="instagram")
    assert len(parts) > 2 and all(utf8_len(p["text"]) <= 1000 for p in parts[:-1])
    assert parts[-1]["attachment"]["payload"]["buttons"][0]["url"] == LINK.url
    # Four links: 3 per template; quick replies on the last message.
    links = tuple(LinkButton(f"Tautan {i}", f"https://x.example.id/{i}") for i in range(4))
    parts = render_meta(Outgoing(text="Pilih:", buttons=(Button("Ya", "/ya"),), link_buttons=links), channel="messenger")
    assert [len(p["attachment"]["payload"]["buttons"]) for p in parts] == [3, 1]
    assert parts[0]["attachment"]["payload"]["text"] == "Pilih:"
    assert parts[1]["attachment"]["payload"]["text"] == "Tautan lainnya:"
    assert parts[-1]["quick_replies"][0]["payload"] == "/ya"


def test_whatsapp_cta_url_with_the_image_as_header() -> None:
    (cta,) = render_whatsapp(Outgoing(text="Dongeng Sabtu pagi.", image=POSTER, link_buttons=(LONG,)))
    interactive = cta["interactive"]
    assert cta["type"] == "interactive" and interactive["type"] == "cta_url"
    assert interactive["header"] == {"type": "image", "image": {"link": POSTER}}
    assert interactive["body"] == {"text": "Dongeng Sabtu pagi."}
    assert interactive["action"]["name"] == "cta_url"
    parameters = interactive["action"]["parameters"]
    assert parameters["url"] == LONG.url and len(parameters["display_text"]) <= 20
    assert parameters["display_text"].endswith("…")
    long_text = "Kalimat pengumuman yang cukup panjang. " * 40  # 1,560 characters: over a 1,024 body
    parts = render_whatsapp(Outgoing(text=long_text, link_buttons=(LINK,)))
    assert parts[0]["type"] == "text" and len(parts[-1]["interactive"]["body"]["text"]) <= 1024
    (alone,) = render_whatsapp(Outgoing(link_buttons=(LINK,)))
    assert alone["interactive"]["body"]["text"] == "Silakan buka tautan berikut:"


def test_the_outbox_form_round_trips_and_old_rows_still_load() -> None:
    message = Outgoing(text="Halo", buttons=(Button("Ya", "/ya"),), image=POSTER, link_buttons=(LINK, LONG))
    assert outgoing_from_json(outgoing_to_json(message)) == message
    # Rows written before link buttons kept the link as a text line ("🔗 judul: alamat").
    old = {"text": "Dongeng", "buttons": [], "image": None, "custom": None,
           "links": ["\U0001f517 Daftar: https://perpustakaan.example.id/daftar", "https://x.example.id/a", "Info di meja"]}
    loaded = outgoing_from_json(old)
    assert loaded.link_buttons == (LinkButton("Daftar", "https://perpustakaan.example.id/daftar"),
                                   LinkButton("Buka tautan", "https://x.example.id/a"))
    assert loaded.text == "Dongeng\nInfo di meja"  # a line that was no link stays readable
    assert outgoing_from_json({"text": "x"}).link_buttons == ()


def test_web_chat_json_carries_the_links() -> None:
    data = Outgoing(text="Halo", link_buttons=(LINK, LinkButton("", "https://x.example.id"))).as_json()
    assert data["links"] == [{"title": "Daftar di sini", "url": LINK.url},
                             {"title": "Buka tautan", "url": "https://x.example.id"}]
    assert "links" not in Outgoing(text="Halo").as_json()


async def _conversation(app, channel: str, external_id: str) -> int:  # noqa: ANN001
    async with app[sessions_key].begin() as session:
        conv = Conversation(channel=channel, external_id=external_id, last_inbound_at=utcnow() - timedelta(minutes=5))
        session.add(conv)
        await session.flush()
        return conv.id


async def _statuses(app) -> list[str]:  # noqa: ANN001
    async with app[sessions_key]() as session:
        return list(await session.scalars(select(OutboxItem.status).order_by(OutboxItem.id)))


async def test_telegram_wire_carries_the_url_button_on_the_photo(aiohttp_client, tg_settings, fake_telegram: FakeTelegram) -> None:
    app = create_app(tg_settings)
    await aiohttp_client(app)
    conv = await _conversation(app, "telegram", "6200001")
    await app[outbox_key].enqueue(conv, Outgoing(text="Dongeng Sabtu <b>pagi</b>", link_buttons=(LONG,)))
    await app[outbox_key].enqueue(conv, Outgoing(text="Poster acara", image=POSTER, link_buttons=(LINK,)))
    text, photo = await fake_telegram.wait_for_sent(2)
    assert text["text"] == "Dongeng Sabtu &lt;b&gt;pagi&lt;/b&gt;" and text["parse_mode"] == "HTML"
    (row,) = text["reply_markup"]["inline_keyboard"]
    assert row[0]["url"] == LONG.url and row[0]["text"].endswith("…") and "callback_data" not in row[0]
    assert fake_telegram.calls_of("sendPhoto")[0] is photo
    assert photo["photo"] == POSTER and photo["caption"] == "Poster acara"
    assert photo["reply_markup"] == {"inline_keyboard": [[{"text": "Daftar di sini", "url": LINK.url}]]}
    await outbox_idle(app)
    assert await _statuses(app) == ["sent", "sent"]


async def test_telegram_photo_it_cannot_fetch_goes_as_text_with_the_button(aiohttp_client, tg_settings, fake_telegram: FakeTelegram) -> None:
    app = create_app(tg_settings)
    await aiohttp_client(app)
    conv = await _conversation(app, "telegram", "6200002")
    fake_telegram.fail_next("sendPhoto", 400, description="Bad Request: failed to get HTTP URL content")
    await app[outbox_key].enqueue(conv, Outgoing(text="Poster acara", image=POSTER, link_buttons=(LINK,)))
    (sent,) = await fake_telegram.wait_for_sent(1)
    assert sent["text"] == f"Poster acara\n{POSTER}" and sent["reply_markup"]["inline_keyboard"][0][0]["url"] == LINK.url
    await outbox_idle(app)
    assert await _statuses(app) == ["sent"]


async def test_messenger_and_instagram_wire_carry_the_button_template(aiohttp_client, meta_settings, fake_graph: FakeGraph) -> None:
    app = create_app(meta_settings)
    await aiohttp_client(app)
    for channel, psid in (("messenger", "PSID-L1"), ("instagram", "IGSID-L2")):
        conv = await _conversation(app, channel, psid)
        await app[outbox_key].enqueue(conv, Outgoing(text="Dongeng Sabtu pagi.", link_buttons=(LONG,)))
    sent = await fake_graph.wait_for_sent(2)
    for body in sent:
        payload = body["message"]["attachment"]["payload"]
        assert payload["template_type"] == "button" and payload["text"] == "Dongeng Sabtu pagi."
        assert payload["buttons"] == [{"type": "web_url", "url": LONG.url, "title": "Pendaftaran Lomba…"}]
    assert {b["recipient"]["id"] for b in sent} == {"PSID-L1", "IGSID-L2"}
    await outbox_idle(app)
    assert await _statuses(app) == ["sent", "sent"]


async def test_whatsapp_wire_is_a_cta_url_message_the_cloud_api_accepts(
    aiohttp_client, tmp_path: Path, dead_port: int, fake_whatsapp: FakeWhatsApp
) -> None:
    app = create_app(whatsapp_settings(tmp_path, dead_port, fake_whatsapp))
    await aiohttp_client(app)
    conv = await _conversation(app, "whatsapp", "6281234567890")
    long_text = "Kalimat pengumuman yang cukup panjang. " * 40
    await app[outbox_key].enqueue(conv, Outgoing(text=long_text, image=POSTER, link_buttons=(LONG,)))
    text, cta = await fake_whatsapp.wait_for_sent(2)
    assert text["type"] == "text"
    interactive = cta["interactive"]
    assert cta["type"] == "interactive" and interactive["type"] == "cta_url"
    assert interactive["header"]["image"]["link"] == POSTER and len(interactive["body"]["text"]) <= 1024
    assert interactive["action"]["parameters"] == {"display_text": "Pendaftaran Lomba…", "url": LONG.url}
    await outbox_idle(app)
    assert await _statuses(app) == ["sent"]
