"""The NLU's reading of one message, as the answer engine receives it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any

# Button payloads look like Rasa's own intent shortcut: ``/intent{"entity": "value"}``.
_PAYLOAD = re.compile(r"^/(?P<intent>[A-Za-z_][\w-]*)(?P<entities>\{.*\})?\s*$", re.DOTALL)


@dataclass(frozen=True)
class Entity:
    """One entity the NLU tagged (or the engine found in the knowledge)."""

    entity: str
    value: str
    extractor: str = ""

    def as_rasa(self) -> dict[str, Any]:
        """The entity in Rasa's parse format (what rasa-sdk actions read)."""
        return {"entity": self.entity, "value": self.value, "extractor": self.extractor}


@dataclass(frozen=True)
class Parse:
    """Intent ranking and entities; ``intent`` is ``None`` when the NLU could not be asked."""

    text: str
    intent: str | None = None
    confidence: float = 0.0
    ranking: tuple[tuple[str, float], ...] = ()
    entities: tuple[Entity, ...] = ()
    from_button: bool = False

    @classmethod
    def from_rasa(cls, data: dict[str, Any]) -> Parse:
        """Read ``POST /model/parse``'s answer defensively (any field may be missing)."""
        intent = data.get("intent") if isinstance(data.get("intent"), dict) else {}
        ranking = tuple(
            (str(r.get("name")), _float(r.get("confidence")))
            for r in data.get("intent_ranking") or []
            if isinstance(r, dict) and r.get("name")
        )
        entities = tuple(
            Entity(str(e["entity"]), str(e.get("value") or ""), str(e.get("extractor") or ""))
            for e in data.get("entities") or []
            if isinstance(e, dict) and e.get("entity") and e.get("value") not in (None, "")
        )
        return cls(
            text=str(data.get("text") or ""),
            intent=str(intent["name"]) if intent.get("name") else None,
            confidence=_float(intent.get("confidence")),
            ranking=ranking,
            entities=entities,
        )

    @classmethod
    def from_payload(cls, payload: str) -> Parse | None:
        """A button's payload (``/search_book{"title": "Bumi"}``) read without the NLU."""
        match = _PAYLOAD.match(payload.strip())
        if match is None:
            return None
        entities: tuple[Entity, ...] = ()
        if match.group("entities"):
            try:
                values = json.loads(match.group("entities"))
            except ValueError:
                return None
            if not isinstance(values, dict):
                return None
            entities = tuple(Entity(str(k), str(v), "payload") for k, v in values.items() if v not in (None, ""))
        intent = match.group("intent")
        return cls(text=payload, intent=intent, confidence=1.0, ranking=((intent, 1.0),),
                   entities=entities, from_button=True)

    def entity(self, name: str) -> str | None:
        """The first value of entity ``name``."""
        return next((e.value.strip() for e in self.entities if e.entity == name and e.value.strip()), None)

    def score(self, intent: str) -> float:
        """The NLU's confidence in ``intent`` (0 when it is not ranked)."""
        if intent == self.intent:
            return self.confidence
        return next((c for name, c in self.ranking if name == intent), 0.0)

    def with_intent(self, intent: str, *entities: Entity, drop: tuple[str, ...] = ()) -> Parse:
        """This parse routed to ``intent``, with ``entities`` added (replacing ``drop`` kinds)."""
        kept = tuple(e for e in self.entities if e.entity not in drop)
        return replace(self, intent=intent, entities=kept + entities)

    def as_rasa(self) -> dict[str, Any]:
        """The parse in Rasa's format: ``latest_message`` of the rasa-sdk tracker."""
        return {
            "text": self.text,
            "intent": {"name": self.intent, "confidence": self.confidence},
            "intent_ranking": [{"name": n, "confidence": c} for n, c in self.ranking],
            "entities": [e.as_rasa() for e in self.entities],
        }


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


__all__ = ["Entity", "Parse"]
