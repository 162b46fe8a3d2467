"""What the handoff tells the patron, in Indonesian and English."""

from __future__ import annotations

from typing import Any

TEXTS: dict[str, tuple[str, str]] = {
    "start.request": (
        "Baik Kak, saya sambungkan dengan pustakawan.",
        "Sure, I'm connecting you with a librarian.",
    ),
    "start.complaint": (
        "Mohon maaf atas ketidaknyamanannya, Kak. Pesan Kakak saya teruskan ke pustakawan.",
        "We're sorry for the trouble. I'm passing your message on to a librarian.",
    ),
    "queue": (
        "Kakak berada di antrean nomor {position}. Pustakawan akan membalas di sini, mohon "
        "ditunggu ya. Ketik \u201cbatal\u201d kalau mau kembali ke asisten otomatis.",
        "You are number {position} in the queue. A librarian will reply here, please wait. "
        "Type \u201ccancel\u201d to go back to the automatic assistant.",
    ),
    "off_hours": (
        "Saat ini di luar jam layanan pustakawan. Pesan Kakak sudah tercatat dan pustakawan akan "
        "membalas di sini pada hari kerja berikutnya, {when}. Ketik \u201cbatal\u201d kalau mau "
        "kembali ke asisten otomatis.",
        "Our librarians are off duty right now. Your message is saved and a librarian will reply "
        "here on the next working day, {when}. Type \u201ccancel\u201d to go back to the automatic "
        "assistant.",
    ),
    "still_waiting": (
        "Permintaan Kakak untuk bicara dengan pustakawan tetap tercatat; pustakawan akan membalas di "
        "sini. Ketik \u201cbatal\u201d kalau tidak jadi.",
        "Your request for a librarian still stands; a librarian will reply here. Type "
        "\u201ccancel\u201d if you no longer need one.",
    ),
    "cancelled": (
        "Baik Kak, permintaan bicara dengan pustakawan dibatalkan. Kakak kembali dilayani asisten "
        "otomatis. Ada yang bisa saya bantu?",
        "All right, the request for a librarian is cancelled and you're back with the automatic "
        "assistant. How can I help?",
    ),
    "declined": (
        "Maaf Kak, saat ini sudah terlalu banyak permintaan bicara dengan pustakawan dari jaringan "
        "Kakak. Silakan coba lagi nanti atau hubungi perpustakaan langsung; asisten otomatis tetap "
        "siap membantu.",
        "Sorry, there are too many requests for a librarian from your network right now. Please try "
        "again later or contact the library directly; the automatic assistant is still here to help.",
    ),
    "claimed": (
        "Kakak sekarang terhubung dengan pustakawan {name}.",
        "You are now chatting with {name}, a librarian.",
    ),
    "resolved": (
        "Percakapan dengan pustakawan sudah selesai. Terima kasih, Kak! Kalau ada pertanyaan lain, "
        "asisten otomatis siap membantu.",
        "The conversation with the librarian has ended. Thank you! The automatic assistant is here "
        "if you have other questions.",
    ),
}


def text(key: str, language: str, **values: Any) -> str:
    """Patron text ``key`` in ``language`` ("id" or "en")."""
    id_text, en_text = TEXTS[key]
    return (en_text if language == "en" else id_text).format(**values)
