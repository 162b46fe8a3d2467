"""Rendering rules: splitting on sentence boundaries, escaping, button limits."""

from __future__ import annotations

from bot.channels.meta import parse_meta, signature_ok
from bot.messages import Button, Outgoing
from bot.render import (
    callback_data,
    escape_html,
    escape_markdown_v2,
    render_meta,
    render_telegram,
    split_text,
    utf8_len,
    utf16_len,
)


def test_split_prefers_sentence_boundaries_and_respects_limits() -> None:
    text = "Satu dua. Tiga empat lima! Enam tujuh? Delapan."
    assert split_text(text, 30) == ["Satu dua. Tiga empat lima!", "Enam tujuh? Delapan."]
    assert split_text("Baris satu\nBaris dua\nBaris tiga", 21) == ["Baris satu\nBaris dua", "Baris tiga"]
    long_word_sentence = "kata " * 30
    chunks = split_text(long_word_sentence, 22)
    assert all(len(c) <= 22 for c in chunks) and " ".join(chunks) == long_word_sentence.strip()
    assert split_text("x" * 50, 20) == ["x" * 20, "x" * 20, "x" * 10]
    assert split_text("   ", 10) == [] and split_text("pendek", 10) == ["pendek"]
    assert split_text("Harga 3.500 rupiah. Oke.", 100) == ["Harga 3.500 rupiah. Oke."]


def test_byte_and_utf16_measures_split_multibyte_text_safely() -> None:
    text = "Buku 📚 tersedia. " * 100
    for chunk in split_text(text, 1000, size=utf8_len):
        assert utf8_len(chunk) <= 1000
        chunk.encode("utf-8")  # never cut inside a character
    assert utf16_len("📚") == 2


def test_escaping() -> None:
    assert escape_markdown_v2("Jam 08.00-16.00 (Senin_Jumat) *baru* [x] ~y~ `z` > # + = | { } ! \\") == (
        "Jam 08\\.00\\-16\\.00 \\(Senin\\_Jumat\\) \\*baru\\* \\[x\\] \\~y\\~ \\`z\\` \\> \\# \\+ \\= \\| \\{ \\} \\! \\\\"
    )
    assert escape_html("<b>A & B</b> \"q\"") == "&lt;b&gt;A &amp; B&lt;/b&gt; \"q\""


def test_telegram_buttons_and_callback_data_limit() -> None:
    short = "/faq{\"faq_id\":\"jam-buka\"}"
    long = "/search_book{\"title\":\"" + "Bumi Manusia " * 6 + "\",\"page\":\"2\"}"
    rendering = render_telegram(Outgoing(text="Pilih <satu>:", buttons=(Button("Jam", short), Button("Lagi", long))))
    (part,) = rendering.parts
    assert part.text == "Pilih &lt;satu&gt;:"
    rows = part.reply_markup()["inline_keyboard"]
    assert rows[0][0] == {"text": "Jam", "callback_data": short}
    assert utf8_len(rows[1][0]["callback_data"]) <= 64 and rendering.long_payloads == {rows[1][0]["callback_data"]: long}
    assert callback_data(long) == rows[1][0]["callback_data"]  # stable key
    assert render_telegram(Outgoing(buttons=(Button("A", "/a"),))).parts[0].text  # never an empty text


def test_messenger_quick_replies_limits_and_image() -> None:
    buttons = tuple(Button(f"Judul yang sangat panjang sekali {i}", f"/p{i}") for i in range(20))
    parts = render_meta(Outgoing(text="Halo", buttons=buttons, image="https://x.id/a.png"), channel="messenger")
    assert parts[0] == {"text": "Halo"}
    assert parts[1]["attachment"]["payload"]["url"] == "https://x.id/a.png"
    quick = parts[1]["quick_replies"]
    assert len(quick) == 13 and all(len(q["title"]) <= 20 for q in quick) and quick[0]["payload"] == "/p0"
    assert [len(p["text"]) for p in render_meta(Outgoing(text="Kalimat. " * 500), channel="messenger")] == [1997, 1997, 503]


def test_signature_check_uses_raw_bytes() -> None:
    import hashlib
    import hmac

    raw = b'{"object":"page","entry":[{"x":"\\u00e4\\/"}]}'
    good = "sha256=" + hmac.new(b"s3cret", raw, hashlib.sha256).hexdigest()
    assert signature_ok(raw, good, ["s3cret"])
    assert signature_ok(raw, good, ["", "other", "s3cret"])
    assert not signature_ok(raw + b" ", good, ["s3cret"])
    assert not signature_ok(raw, good.replace("sha256=", "sha1="), ["s3cret"])
    assert not signature_ok(raw, good, [""])


def test_parse_meta_ignores_other_objects_and_deletions_and_marks_attachments() -> None:
    assert parse_meta({"object": "whatsapp_business_account", "entry": []}) == []
    body = {"object": "page", "entry": [{"id": "1", "messaging": [
        {"sender": {"id": "2"}, "timestamp": 5, "message": {"mid": "m1", "attachments": [{"type": "image", "payload": {"url": "u"}}]}},
        {"sender": {"id": "2"}, "timestamp": 6, "message": {"mid": "m2", "is_deleted": True}},
    ]}]}
    (photo,) = parse_meta(body)
    assert photo.attachment == "photo" and photo.text == "" and photo.kind == "message"


def test_parse_meta_reads_odd_types_as_absent_never_raises() -> None:
    odd = [
        {"object": "page", "entry": {"id": "1"}},
        {"object": "page", "entry": "x"},
        {"object": "page", "entry": [{"messaging": [{"sender": "2", "timestamp": 1, "message": {"mid": "a", "text": "hi"}}]}]},
        {"object": "page", "entry": [{"messaging": {"sender": {"id": "2"}}}]},
        {"object": "page", "entry": [{"messaging": [{"sender": {"id": ["2"]}, "message": {"text": "hi"}}]}]},
        {"object": "page", "entry": [{"messaging": [{"sender": {"id": "2"}, "timestamp": "nope", "message": {"mid": 5, "text": 7}}]}]},
        {"object": "page", "entry": [{"messaging": [{"sender": {"id": "2"}, "message": {"text": "\ud800", "quick_reply": 3}}]}]},
    ]
    results = [parse_meta(body) for body in odd]
    assert results[:5] == [[], [], [], [], []]
    assert results[5] == []  # a text that is a number is no text
    (item,) = results[6]
    assert item.text == "\ufffd"
    (stamped,) = parse_meta({"object": "instagram", "entry": [{"messaging": [
        {"sender": {"id": "2"}, "timestamp": "1527459824", "message": {"mid": "m", "text": "hi"}}]}]})
    assert stamped.timestamp is not None and stamped.timestamp.year == 2018
