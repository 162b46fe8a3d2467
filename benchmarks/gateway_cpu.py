"""CPU per message of each process of `pustakabot run` (gateway, Rasa NLU, supervisor).

Starts `pustakabot run` as `chat_load.py` does, warms it up, then sends ``--messages`` messages of
the chat-load mix (distinct patrons, 5 messages each) at ``--concurrency`` and reads each
process's user + system CPU time from /proc before and after. The figure that caps the bot's
throughput on two cores is the busiest process's CPU per message. ``--py-spy FILE`` also records
the gateway with py-spy (when installed) for the same messages. Loopback only, bounded in count.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/gateway_cpu.py [--messages 500] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.chat_load import descendants, level, start_bot, stop  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def role(pid: int) -> str:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "gone"
    if "rasa" in cmd and " run" in cmd:
        return "nlu"
    if "bot gateway" in cmd or "bot serve" in cmd or "-m bot gateway" in cmd:
        return "gateway"
    if "-m bot run" in cmd:
        return "supervisor"
    return "other: " + cmd[:60]


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def by_role(root: int) -> dict[str, float]:
    out: dict[str, float] = {}
    for pid in descendants(root):
        r = role(pid)
        out[r] = out.get(r, 0.0) + cpu_seconds(pid)
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--py-spy", type=Path, help="record the gateway's last run with py-spy into this file")
    args = parser.parse_args()
    proc, url = start_bot()
    try:
        print("roles:", {pid: role(pid) for pid in descendants(proc.pid)}, flush=True)
        await level("bot", url, args.concurrency, 40, 300)  # warm-up: 200 messages
        patrons = max(args.messages // 5, 1)
        print("| run | messages | msg/s | " + " | ".join(f"{r} ms CPU/msg" for r in ("gateway", "nlu", "supervisor")) + " |")
        print("| --- | --- | --- | --- | --- | --- |")
        for run in range(1, args.runs + 1):
            spy = None
            spy_bin = shutil.which("py-spy", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
            if args.py_spy and run == args.runs and spy_bin:
                gateway = next(p for p in descendants(proc.pid) if role(p) == "gateway")
                spy = subprocess.Popen([spy_bin, "record", "-r", "200", "-f", "raw", "-o", str(args.py_spy),
                                        "-p", str(gateway), "--threads", "--gil"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                await asyncio.sleep(1.0)  # py-spy attaches
            before = by_role(proc.pid)
            result = await level("bot", url, args.concurrency, patrons, 600)
            after = by_role(proc.pid)
            if spy is not None:
                spy.send_signal(2)
                spy.wait(timeout=60)
            n = result["messages"]
            per = {r: 1000 * (after.get(r, 0.0) - before.get(r, 0.0)) / n for r in ("gateway", "nlu", "supervisor")}
            print(f"| {run} | {n:.0f} | {result['per_second']:.1f} | {per['gateway']:.1f} | {per['nlu']:.1f} "
                  f"| {per['supervisor']:.1f} |", flush=True)
    finally:
        stop(proc)


if __name__ == "__main__":
    asyncio.run(main())
