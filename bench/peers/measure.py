"""What bench/peers/run.py reads off a running server: its process tree's CPU time and memory, and whether its
forecast is paxcast's.

A server is every process below the one the launcher started (Ray's GCS, raylet, controller, proxy and
replicas; BentoML's and LitServe's workers; uvicorn's), found through each process's parent in /proc.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_tree(root: int) -> list[int]:
    """`root` and every live process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):  # gone while we looked
                continue
            children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def identity(pid: int) -> tuple[int, int, int, int] | None:
    """(pid, start time in clock ticks, process group, session) of a live, not zombie, process; None if gone.
    The start time tells a survivor from a later process that got the same pid."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    if fields[0] == "Z":
        return None
    return pid, int(fields[19]), int(fields[2]), int(fields[3])


def leftovers(leader: int, tree: list[tuple[int, int, int, int]]) -> list[str]:
    """What still runs of a stopped server: any live process of `leader`'s process group or session, and any
    process of `tree` (its processes while it ran, from `identity`) that is still the same process. Empty
    when it is all gone. A process that left the group (setpgrp) is still caught by the session or the tree."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            found = identity(int(entry.name))
            if found and (leader in found[2:] or found in tree):
                try:
                    command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue
                out.append(f"pid {found[0]} (group {found[2]}, session {found[3]}): {command.strip()[:120]}")
    return out


def cpu_seconds(root: int) -> float:
    """User + system CPU of the tree so far, with what its processes' reaped children used (cutime, cstime)."""
    total = 0
    for pid in process_tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return total / CLOCK_TICKS


def wait_until_idle(root: int, timeout: float = 30, busy: float = 0.2, interval: float = 0.25) -> bool:
    """Wait until the tree uses less than `busy` of one core over `interval` s; False if still busy after `timeout` s.

    A wrk run that ends leaves its last requests in the server (up to one per connection: at c=64 and 30 ms
    each, two seconds of work); without this wait they would run inside the next measured cell."""
    deadline = time.monotonic() + timeout
    before = cpu_seconds(root)
    while time.monotonic() < deadline:
        time.sleep(interval)
        now = cpu_seconds(root)
        if now - before < busy * interval:
            return True
        before = now
    return False


def pss_mib(root: int) -> float:
    """The tree's proportional set size: shared pages split among the processes that map them, so a forked
    worker's pages shared with its parent are not counted twice (a sum of RSS would)."""
    kib = 0
    for pid in process_tree(root):
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    kib += int(line.split()[1])
                    break
        except OSError:
            continue
    return kib / 1024


def differences(expected: dict, got: dict) -> list[str]:
    """How `got` (a forecast response body) differs from `expected`, paxcast's: the model, each series' id,
    timestamps, and mean and intervals compared as float32 (every server computes in float32; the JSON
    renderers differ only in how many digits they print). Empty when they agree."""
    out = []
    if got.get("model") != expected["model"]:
        out.append(f"model {got.get('model')} != {expected['model']}")
    theirs, ours = got.get("forecasts", []), expected["forecasts"]
    if len(theirs) != len(ours):
        return [*out, f"{len(theirs)} forecasts, paxcast gave {len(ours)}"]
    for mine, other in zip(ours, theirs, strict=True):
        where = f"series {mine['id']!r}"
        if other.get("id") != mine["id"] or other.get("timestamps") != mine.get("timestamps"):
            out.append(f"{where}: id or timestamps differ")
        pairs = [("mean", mine["mean"], other.get("mean"))]
        for label, bounds in mine.get("intervals", {}).items():
            theirs_bounds = other.get("intervals", {}).get(label, {})
            pairs += [(f"{label} {side}", bounds[side], theirs_bounds.get(side)) for side in ("lower", "upper")]
        for what, a, b in pairs:
            a32, b32 = np.asarray(a, dtype=np.float32), np.asarray(b if b is not None else [], dtype=np.float32)
            if a32.shape != b32.shape or not np.array_equal(a32, b32):
                gap = float(np.max(np.abs(a32 - b32))) if a32.shape == b32.shape else float("nan")
                out.append(f"{where}: {what} differs (largest gap {gap:g})")
    return out


def check() -> None:
    """This process is in its own tree and uses CPU and memory; a changed number is a difference."""
    me = os.getpid()
    if me not in process_tree(me) or cpu_seconds(me) <= 0 or pss_mib(me) <= 0:
        raise AssertionError("the process tree of this process has no CPU time or memory")
    answer = {
        "model": {"name": "m", "version": "1"},
        "forecasts": [{"id": "a", "mean": [1.5, 2.25], "intervals": {"80": {"lower": [1.0, 2.0], "upper": [2, 3]}}}],
    }
    if not leftovers(me, [identity(me)]) or leftovers(-1, []):
        raise AssertionError("leftovers() does not see this live process, or sees one where there is none")
    if differences(answer, answer):
        raise AssertionError(f"an answer differs from itself: {differences(answer, answer)}")
    changed = {**answer, "forecasts": [{**answer["forecasts"][0], "mean": [1.5, 2.5]}]}
    if differences(answer, changed) != ["series 'a': mean differs (largest gap 0.25)"]:
        raise AssertionError(f"a changed mean was reported as {differences(answer, changed)}")
