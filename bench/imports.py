"""Imports every module of bench/ and experiments/ and runs each one's `check()`: what keeps a refactor of the
product from silently breaking them, since the test suite never imports them.

    python -m bench.imports    # `make lint` runs it (and so `make test`)

A `check()` is a module's self-check of its own logic on a small case (the protocol a bench cuts by, a
report's grouping, the flags it passes to `paxcast train`, one series through the shipped model): seconds,
no server, no training. Exits 1 naming every module that failed to import or to pass its check.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import time
import traceback

from bench.common import ROOT

FOLDERS = ("bench", "experiments")
# Modules that import a library only the peers virtualenv has (pyproject's `peers` extra, `make bench-peers`):
# skipped, with the reason printed, where that library is missing, as it is in `make install`'s .venv.
PEERS_ONLY = {"bench.peers.litserve_server": "litserve"}


def modules() -> list[str]:
    """Every module below FOLDERS, as dotted names (a package by its own name), this one left out."""
    names = []
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            if name != "bench.imports":
                names.append(name)
    return names


def main() -> int:
    started, names, failed, checks, skipped = time.perf_counter(), modules(), [], 0, 0
    for name in names:
        library = PEERS_ONLY.get(name)
        if library is not None and importlib.util.find_spec(library) is None:
            print(f"bench.imports: {name} skipped: it needs {library}, installed by the peers extra only")
            skipped += 1
            continue
        try:
            module = importlib.import_module(name)
            if callable(check := getattr(module, "check", None)):
                check()
                checks += 1
        except (Exception, SystemExit):  # every module is tried: one report names all that broke (argparse exits)
            failed.append(name)
            print(f"{name}:\n{traceback.format_exc()}", file=sys.stderr)
    seconds = time.perf_counter() - started
    if failed:
        print(f"bench.imports: {len(failed)} module(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"bench.imports: {len(names) - skipped} modules imported, {checks} self-checks passed ({seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
