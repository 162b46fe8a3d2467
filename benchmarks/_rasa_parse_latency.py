"""Runs in the Rasa runtime (.venv-rasa): load a model, time parsing of held-out messages.

Usage: python benchmarks/_rasa_parse_latency.py MODEL.tar.gz MESSAGES.txt -> JSON on stdout.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time


async def main(model: str, messages_file: str) -> None:
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    texts = [t for t in open(messages_file, encoding="utf-8").read().splitlines() if t.strip()]
    for text in texts[:10]:  # warm-up (graph compilation, caches)
        await agent.parse_message(text)
    timings = []
    for _ in range(3):
        for text in texts:
            start = time.perf_counter()
            await agent.parse_message(text)
            timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    print(json.dumps({
        "n": len(timings),
        "median_ms": statistics.median(timings),
        "p95_ms": timings[int(0.95 * (len(timings) - 1))],
    }))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
