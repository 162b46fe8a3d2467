"""Patron-facing texts of the actions, in Indonesian and English."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

TEXTS: dict[str, tuple[str, str]] = {
    # Small talk.
    "smalltalk.greet": (
        "Halo Kak! Saya asisten virtual Perpustakaan Kota Prabumulih. Kakak bisa tanya soal buku, "
        "jam buka, keanggotaan, acara, atau e-book.",
        "Hello! I'm the assistant of Perpustakaan Kota Prabumulih. Ask me about books, opening "
        "hours, membership, events or e-books.",
    ),
    "smalltalk.goodbye": ("Sampai jumpa, Kak! Ditunggu kunjungannya di perpustakaan.", "Goodbye, see you at the library!"),
    "smalltalk.thanks": ("Sama-sama, Kak! Ada lagi yang bisa saya bantu?", "You're welcome! Anything else I can help with?"),
    "smalltalk.bot_challenge": (
        "Saya bot, asisten virtual perpustakaan. Kalau Kakak ingin bicara dengan pustakawan, bilang saja ya.",
        "I'm a bot, the library's virtual assistant. If you'd like to talk to a librarian, just say so.",
    ),
    "smalltalk.affirm": ("Baik, Kak! Ada lagi yang ingin ditanyakan?", "Great! What else would you like to know?"),
    "smalltalk.deny": ("Baik, Kak. Silakan tanya apa saja seputar perpustakaan.", "Alright. Feel free to ask anything about the library."),
    "hold": (
        "Sebentar ya, Kak. Pesan Kakak sudah kami terima dan akan segera kami jawab.",
        "One moment please: we've got your message and will answer it shortly.",
    ),
    "degraded": (
        "Maaf Kak, layanan chat kami sedang gangguan. Silakan coba lagi beberapa saat lagi, atau "
        "hubungi perpustakaan langsung di jam layanan.",
        "Sorry, our chat service is having trouble right now. Please try again in a moment, or "
        "contact the library directly during opening hours.",
    ),
    "faq.which": ("Maksud Kakak yang mana?", "Which one do you mean?"),
    "faq.related": ("Pertanyaan terkait:", "Related questions:"),
    "faq.indonesian_only": (
        "Jawaban ini hanya tersedia dalam bahasa Indonesia:",
        "The librarians wrote this answer in Indonesian only:",
    ),
    "faq.or_these": ("Atau mungkin maksud Kakak salah satu pertanyaan ini?", "Or did you mean one of these questions?"),
    "fallback.rephrase": (
        "Maaf Kak, saya belum paham maksudnya. Bisa ditulis dengan kata lain? Saya bisa bantu soal "
        "buku, jam buka, keanggotaan, peminjaman, acara, dan e-book.",
        "Sorry, I didn't quite get that. Could you rephrase? I can help with books, opening hours, "
        "membership, loans, events and e-books.",
    ),
    "fallback.offer_human": (
        "Maaf Kak, saya masih belum bisa memahami pertanyaannya. Saya sambungkan dengan pustakawan "
        "ya. Kalau tidak jadi, ketik \u201cbatal\u201d.",
        "Sorry, I still can't understand. I'm connecting you with a librarian. If you'd rather "
        "not, type \u201ccancel\u201d.",
    ),
    "button.back_to_bot": ("Kembali ke bot", "Back to the bot"),
    "intent.search_book": ("Cari buku di koleksi", "Find a book"),
    "intent.ask_events": ("Acara perpustakaan", "Library events"),
    "intent.ask_ebooks": ("E-book", "E-books"),
    "intent.suggest_purchase": ("Usulkan pembelian buku", "Suggest a book to buy"),
    "intent.request_human": ("Hubungi pustakawan", "Talk to a librarian"),
    "button.human": ("Hubungi pustakawan", "Talk to a librarian"),
    "button.no": ("Tidak, terima kasih", "No, thanks"),
    "button.more": ("Lihat lainnya", "Show more"),
    "button.suggest": ("Usulkan buku ini", "Suggest this book"),
    "button.suggest_title": ("Usulkan \u201c{title}\u201d", "Suggest \u201c{title}\u201d"),
    "button.available_only": ("Yang tersedia saja", "Available only"),
    "out_of_scope": (
        "Maaf Kak, itu di luar yang bisa saya bantu. Saya asisten Perpustakaan Kota Prabumulih: "
        "saya bisa mencarikan buku, memberi info jam buka, keanggotaan, peminjaman, denda, acara, "
        "dan e-book.",
        "Sorry, that's outside what I can help with. I'm the assistant of Perpustakaan Kota "
        "Prabumulih: I can look up books and tell you about opening hours, membership, loans, "
        "fines, events and e-books.",
    ),
    "out_of_scope.elsewhere": (
        "Maaf Kak, sepertinya itu tentang tempat atau lembaga lain, bukan Perpustakaan Kota "
        "Prabumulih, jadi saya tidak punya informasinya; silakan tanyakan langsung ke sana ya. "
        "Tentang perpustakaan, saya bisa mencarikan buku, memberi info jam buka, keanggotaan, "
        "peminjaman, denda, acara, dan e-book.",
        "Sorry, that seems to be about another place or organisation, not Perpustakaan Kota "
        "Prabumulih, so I don't have its details; please ask them directly. About the library, I "
        "can look up books and tell you about opening hours, membership, loans, fines, events and "
        "e-books.",
    ),
    "catalog.ask": (
        "Judul, pengarang, atau topik buku apa yang Kakak cari?",
        "Which title, author or topic are you looking for?",
    ),
    "catalog.found_one": ("Ada, Kak! 📚", "Yes, we have it! 📚"),
    "catalog.found_many": ("Ini yang saya temukan di koleksi kami, Kak:", "Here is what I found in our collection:"),
    "catalog.found_topic": (
        "Ini buku di koleksi kami tentang \u201c{query}\u201d, Kak:",
        "Here is what our collection has on \u201c{query}\u201d:",
    ),
    "catalog.volume_missing": (
        "Maaf Kak, buku ke-{number} dari seri \u201c{series}\u201d belum ada di koleksi kami.",
        "Sorry, volume {number} of \u201c{series}\u201d is not in our collection yet.",
    ),
    "catalog.not_found": (
        "Maaf Kak, buku \u201c{query}\u201d belum ada di koleksi kami. Mau saya catat sebagai usulan "
        "pembelian buku?",
        "Sorry, \u201c{query}\u201d is not in our collection yet. Shall I note it as a purchase "
        "suggestion?",
    ),
    "catalog.not_found_or_faq": (
        "Saya belum menemukan buku \u201c{query}\u201d di koleksi kami, Kak. Mungkin maksud Kakak "
        "salah satu ini?",
        "I couldn't find \u201c{query}\u201d in our collection. Did you mean one of these?",
    ),
    "catalog.none_available": (
        "Untuk \u201c{query}\u201d, semua eksemplar sedang dipinjam atau hanya bisa dibaca di tempat, Kak.",
        "For \u201c{query}\u201d, every copy is on loan or for reference only.",
    ),
    "catalog.ebook": ("Versi digitalnya bisa dibaca di: {url}", "Read the digital version at: {url}"),
    "suggest.ask": (
        "Judul buku apa yang ingin Kakak usulkan untuk dibeli perpustakaan?",
        "Which book would you like the library to buy?",
    ),
    "suggest.confirm": (
        "Mau saya catat \u201c{title}\u201d sebagai usulan pembelian buku untuk perpustakaan, Kak?",
        "Shall I note \u201c{title}\u201d as a suggestion for the library to buy?",
    ),
    "suggest.which": (
        "Kakak ingin mengusulkan buku \u201c{title}\u201d untuk dibeli perpustakaan, atau maksud Kakak "
        "salah satu ini?",
        "Would you like to suggest \u201c{title}\u201d for the library to buy, or did you mean one of these?",
    ),
    "suggest.thanks": (
        "Terima kasih, Kak! Usulan buku \u201c{title}\u201d sudah kami catat untuk pustakawan.",
        "Thank you! Your suggestion \u201c{title}\u201d has been passed on to the librarians.",
    ),
    "events.none": (
        "Belum ada acara terjadwal {period}, Kak. Pantau terus Instagram perpustakaan ya!",
        "There are no events scheduled {period}. Keep an eye on the library's Instagram!",
    ),
    "events.about": (
        "Acara perpustakaan tentang \u201c{topic}\u201d yang akan datang:",
        "Upcoming library events on \u201c{topic}\u201d:",
    ),
    "events.none_about": (
        "Belum ada acara tentang \u201c{topic}\u201d yang terjadwal, Kak. Pantau terus Instagram "
        "perpustakaan ya!",
        "There is no event on \u201c{topic}\u201d scheduled yet. Keep an eye on the library's Instagram!",
    ),
    "events.list": ("Acara perpustakaan {period}:", "Library events {period}:"),
    "events.about_later": (
        "Acara tentang \u201c{topic}\u201d belum ada {period}, Kak. Jadwal berikutnya:",
        "No event on \u201c{topic}\u201d {period}; the next ones:",
    ),
    "ebooks.none": (
        "Maaf Kak, e-book \u201c{query}\u201d belum tersedia. Coba cari di aplikasi iPusnas dari "
        "Perpustakaan Nasional ya.",
        "Sorry, the e-book \u201c{query}\u201d is not available. Try the iPusnas app of the "
        "National Library.",
    ),
    "ebooks.in_print": (
        "Versi cetaknya ada di koleksi kami: \u201c{title}\u201d. {availability}",
        "We have it in print: \u201c{title}\u201d. {availability}",
    ),
    "ebooks.print_copies": ("  Versi cetak: {availability}", "  In print: {availability}"),
    "catalog.ebook_on": (
        "Versi digitalnya bisa dibaca di {platform}: {url}",
        "Read the digital version on {platform}: {url}",
    ),
    "ebooks.list": ("E-book yang bisa Kakak baca online:", "E-books you can read online:"),
    "handoff.start": (
        "Baik Kak, saya sambungkan dengan pustakawan. Mohon tunggu sebentar ya.",
        "Sure, I'm connecting you with a librarian. Please wait a moment.",
    ),
}


def language(tracker: Tracker) -> str:
    """The patron's language for this turn: ``"id"`` or ``"en"``."""
    return "en" if tracker.get_slot("language") == "en" else "id"


def t(key: str, lang: str, **values: Any) -> str:
    """Text ``key`` in ``lang`` with ``values`` filled in."""
    ind, en = TEXTS[key]
    return (en if lang == "en" else ind).format(**values)
