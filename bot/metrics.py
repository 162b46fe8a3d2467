"""``GET /metrics`` for Prometheus: what the gateway did and how long each stage took.

One :class:`Metrics` per application (its own ``CollectorRegistry``, no module-level state).
Counters and histograms are this replica's own (Prometheus sums them across replicas); the
backlog gauges (outbox, inbox, handoff queue) are read from the shared database at scrape time,
so every replica reports the same deployment-wide figure (use ``max`` across replicas).

| metric | labels | meaning |
| --- | --- | --- |
| ``pustakabot_messages_in_total`` | channel | patron messages taken in (a retried turn counts once) |
| ``pustakabot_messages_out_total`` | channel | messages delivered: accepted by the platform, or answered on the web chat |
| ``pustakabot_decisions_total`` | kind | ``answered``, ``asked_back``, ``declined``, ``handed_over``, ``degraded`` |
| ``pustakabot_stage_seconds`` | stage | ``nlu`` (the NLU call), ``knowledge`` (from the NLU's answer to the decision), ``send`` (one platform call) |
| ``pustakabot_outbox_failures_total`` | channel, kind | failed delivery attempts: ``retry`` (will be retried) or ``permanent`` |
| ``pustakabot_outbox_backlog`` | channel | outgoing messages not delivered yet |
| ``pustakabot_inbox_backlog`` | channel | patron messages not answered yet |
| ``pustakabot_handoff_queue`` | | conversations waiting for a librarian |
| ``pustakabot_nlu_up`` | | 1 when the NLU answers with a loaded model |

Protection: with ``PUSTAKABOT_METRICS_TOKEN`` set, a scrape needs ``Authorization: Bearer TOKEN``;
without it, only loopback clients are served (403 otherwise).
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
import time

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select

from bot.channel_models import PENDING, SENDING, InboxItem, OutboxItem
from bot.handoff_models import Handoff

STAGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
ASKED_BACK = {"action_fallback"}
DECLINED = {"action_out_of_scope"}


class Metrics:
    """The gateway's Prometheus metrics (see the module doc)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.messages_in = Counter("pustakabot_messages_in", "Patron messages taken in.", ["channel"], registry=r)
        self.messages_out = Counter("pustakabot_messages_out", "Messages delivered to patrons.", ["channel"], registry=r)
        self.decisions = Counter("pustakabot_decisions", "Answer engine decisions by kind.", ["kind"], registry=r)
        self.stage = Histogram("pustakabot_stage_seconds", "Latency per stage.", ["stage"], buckets=STAGE_BUCKETS,
                               registry=r)
        self.outbox_failures = Counter("pustakabot_outbox_failures", "Failed delivery attempts.", ["channel", "kind"],
                                       registry=r)
        self.outbox_backlog = Gauge("pustakabot_outbox_backlog", "Outgoing messages not delivered yet.", ["channel"],
                                    registry=r)
        self.inbox_backlog = Gauge("pustakabot_inbox_backlog", "Patron messages not answered yet.", ["channel"],
                                   registry=r)
        self.handoff_queue = Gauge("pustakabot_handoff_queue", "Conversations waiting for a librarian.", registry=r)
        self.nlu_up = Gauge("pustakabot_nlu_up", "1 when the NLU answers with a loaded model.", registry=r)

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        """Observe the duration of the ``with`` block as ``stage``."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.stage.labels(stage).observe(time.perf_counter() - started)

    def decided(self, *, action: str, handoff: bool, degraded: bool) -> None:
        """Count one decision of the answer engine."""
        if handoff:
            kind = "handed_over"
        elif degraded:
            kind = "degraded"
        elif action in ASKED_BACK:
            kind = "asked_back"
        elif action in DECLINED:
            kind = "declined"
        else:
            kind = "answered"
        self.decisions.labels(kind).inc()

    async def refresh(self, app: web.Application) -> None:
        """Read the shared backlogs and the NLU's state (at scrape time)."""
        from bot.keys import nlu_key, sessions_key

        async with app[sessions_key]() as session:
            outbox = (await session.execute(
                select(OutboxItem.channel, func.count()).where(OutboxItem.status.in_((PENDING, SENDING)))
                .group_by(OutboxItem.channel)
            )).all()
            inbox = (await session.execute(
                select(InboxItem.channel, func.count()).where(InboxItem.status == PENDING).group_by(InboxItem.channel)
            )).all()
            waiting = await session.scalar(select(func.count()).select_from(Handoff).where(Handoff.status == "waiting"))
        self.outbox_backlog.clear()
        for channel, count in outbox:
            self.outbox_backlog.labels(channel).set(count)
        self.inbox_backlog.clear()
        for channel, count in inbox:
            self.inbox_backlog.labels(channel).set(count)
        self.handoff_queue.set(waiting or 0)
        self.nlu_up.set(1 if await app[nlu_key].ready() else 0)


def allowed(request: web.Request, token: str) -> bool:
    """The bearer token when one is configured, else loopback clients only."""
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
    try:
        return ipaddress.ip_address(str(request.remote)).is_loopback
    except ValueError:
        return False


async def metrics_view(request: web.Request) -> web.Response:
    """``GET /metrics`` in Prometheus' text format."""
    from bot.keys import metrics_key, settings_key

    token = request.app[settings_key].metrics_token.get_secret_value()
    if not allowed(request, token):
        if token:
            raise web.HTTPUnauthorized(text="metrics need the bearer token", headers={"WWW-Authenticate": "Bearer"})
        raise web.HTTPForbidden(text="metrics are served to loopback clients only (set PUSTAKABOT_METRICS_TOKEN)")
    metrics = request.app[metrics_key]
    await metrics.refresh(request.app)
    body = generate_latest(metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def setup(app: web.Application) -> None:
    """Register ``/metrics`` (the :class:`Metrics` object is made in ``create_app``)."""
    app.router.add_get("/metrics", metrics_view)
