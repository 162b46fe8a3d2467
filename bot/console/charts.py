"""Small charts drawn on the server as inline SVG (no script, no CDN; allowed by the console's
Content-Security-Policy: presentation attributes, no inline styles)."""

from __future__ import annotations

from datetime import date

from markupsafe import Markup, escape

COLORS = {"web": "#0b6e4f", "telegram": "#229ed9", "messenger": "#7c3aed", "instagram": "#db2777",
          "whatsapp": "#16a34a"}
KIND_COLORS = {"answered": "#0b6e4f", "asked_back": "#f79009", "declined": "#b42318", "handed_over": "#344054"}
KIND_LABELS = {"answered": "dijawab", "asked_back": "ditanya balik", "declined": "ditolak/tidak tahu",
               "handed_over": "diteruskan ke pustakawan"}
CHANNEL_LABELS = {"web": "Web chat", "telegram": "Telegram", "messenger": "Messenger", "instagram": "Instagram",
                  "whatsapp": "WhatsApp"}


def _svg(width: int, height: int, body: list[str], label: str) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">' + "".join(body) + "</svg>"
    )


def _legend(items: list[tuple[str, str]], y: int) -> list[str]:
    out, x = [], 0
    for name, color in items:
        out.append(f'<rect x="{x}" y="{y}" width="10" height="10" fill="{color}"/>'
                   f'<text x="{x + 14}" y="{y + 9}" font-size="11">{escape(name)}</text>')
        x += 14 + 7 * len(name) + 16
    return out


def stacked_days(per_day: dict[date, dict[str, int]], channels: list[str]) -> Markup:
    """Patrons' messages per day, one bar per day stacked by channel."""
    days = list(per_day)
    width, top, chart_h = max(560, 28 * len(days) + 40), 16, 150
    peak = max((sum(v.values()) for v in per_day.values()), default=0) or 1
    step = (width - 40) / max(1, len(days))
    body = [f'<line x1="30" y1="{top + chart_h}" x2="{width}" y2="{top + chart_h}" stroke="#dfe3e8"/>',
            f'<text x="0" y="{top + 8}" font-size="10">{peak}</text>']
    for i, day in enumerate(days):
        x = 34 + i * step
        y = top + chart_h
        total = sum(per_day[day].values())
        for channel in channels:
            n = per_day[day].get(channel, 0)
            if not n:
                continue
            h = chart_h * n / peak
            y -= h
            body.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" '
                        f'fill="{COLORS.get(channel, "#637381")}" data-channel="{escape(channel)}" data-count="{n}">'
                        f'<title>{escape(CHANNEL_LABELS.get(channel, channel))} {day:%d/%m}: {n}</title></rect>')
        if len(days) <= 31 and (len(days) <= 14 or i % 2 == 0):
            body.append(f'<text x="{x:.1f}" y="{top + chart_h + 14}" font-size="10">{day:%d/%m}</text>')
        if total and len(days) <= 14:
            body.append(f'<text x="{x:.1f}" y="{y - 3:.1f}" font-size="10">{total}</text>')
    body += _legend([(CHANNEL_LABELS.get(c, c), COLORS.get(c, "#637381")) for c in channels], top + chart_h + 26)
    return _svg(width, top + chart_h + 42, body, "Pesan per hari dan saluran")


def share_bar(kinds: dict[str, int]) -> Markup:
    """The shares of answered / asked back / declined / handed over, one 100 % bar."""
    total = sum(kinds.values())
    width = 600
    body: list[str] = []
    x = 0.0
    for kind, n in kinds.items():
        if not total or not n:
            continue
        w = width * n / total
        body.append(f'<rect class="share" x="{x:.1f}" y="0" width="{w:.1f}" height="26" '
                    f'fill="{KIND_COLORS.get(kind, "#637381")}" data-kind="{kind}" data-count="{n}">'
                    f'<title>{escape(KIND_LABELS.get(kind, kind))}: {n} ({n / total:.0%})</title></rect>')
        if w > 34:
            body.append(f'<text x="{x + 4:.1f}" y="17" font-size="11" fill="#fff">{n / total:.0%}</text>')
        x += w
    if not total:
        body.append('<text x="0" y="17" font-size="12">Belum ada data pada periode ini.</text>')
    body += _legend([(KIND_LABELS[k], KIND_COLORS[k]) for k in kinds], 36)
    return _svg(width, 52, body, "Bagian jawaban")


def bars(items: list[tuple[str, int]]) -> Markup:
    """Vertical bars with their values (e.g. ratings 1-5)."""
    width, chart_h = 300, 100
    peak = max((v for _, v in items), default=0) or 1
    step = width / max(1, len(items))
    body: list[str] = []
    for i, (label, value) in enumerate(items):
        h = chart_h * value / peak
        x = i * step + 6
        body.append(f'<rect class="bar" x="{x:.1f}" y="{10 + chart_h - h:.1f}" width="{step * 0.6:.1f}" '
                    f'height="{h:.1f}" fill="#f79009" data-count="{value}"><title>{escape(label)}: {value}</title></rect>'
                    f'<text x="{x:.1f}" y="{chart_h + 24}" font-size="11">{escape(label)}</text>'
                    f'<text x="{x:.1f}" y="{max(9.0, 10 + chart_h - h - 3):.1f}" font-size="10">{value}</text>')
    return _svg(width, chart_h + 30, body, "Penilaian")
