"""Issue 30's CLI cases: `paxcast train|retrain` on hostile files. Each must end in one line and an exit code,
with bounded memory and nothing left behind; the child is killed past --cli-timeout or --cli-rss-cap-mb."""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
import zlib
from pathlib import Path

from bench.reliability.harness import Options, run_cli

# Enough to make training short if a file gets that far (the hostile part comes before); each kind of model
# refuses the other's flags, and a file of one series trains a per-series model.
FAST = ["--epochs", "1", "--ensemble", "1", "--transform", "none", "--augment", "0"]
FAST_GLOBAL = ["--steps", "1"]
BOMB = Path("/tmp/paxcast-attacks-gzip-bomb.csv.gz")  # built once: 1 GiB of rows inside ~1 MB


def rows_csv(rows: list[tuple]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["unique_id", "ds", "y"])
    writer.writerows(rows)
    return out.getvalue().encode()


def hourly(series: str, n: int) -> list[tuple]:
    return [(series, f"2024-01-{1 + k // 24:02d}T{k % 24:02d}:00:00", 100 + k % 7) for k in range(n)]


def monthly(series: str, n: int) -> list[tuple]:
    return [(series, f"{2000 + k // 12}-{1 + k % 12:02d}-01", 100 + k) for k in range(n)]


def daily(series: str, n: int) -> list[tuple]:
    return [(series, f"2024-{1 + k // 28:02d}-{1 + k % 28:02d}", 100 + k % 7) for k in range(n)]


def long_field(size: int) -> bytes:
    """Series b's rows, then one row of series a whose `y` is `size` digits."""
    return rows_csv(daily("b", 20)) + b"a,2024-01-01," + b"1" * size + b"\n"


def gzip_bomb() -> Path:
    if not BOMB.exists():
        packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip framing
        block = b"a,2024-01-01,1\n" * ((1 << 20) // 15)
        with open(BOMB.with_suffix(".part"), "wb") as f:
            f.write(packer.compress(b"unique_id,ds,y\n"))
            for _ in range((1 << 30) // len(block) + 1):
                f.write(packer.compress(block))
            f.write(packer.flush())
        BOMB.with_suffix(".part").rename(BOMB)
    return BOMB


def outcome(run: dict, out: Path, **checks) -> dict:
    """The row: what the child did, plus what it left under `out` (the --out/--registry it was given)."""
    text = run.pop("_output")
    left = sorted(str(p.relative_to(out)) for p in out.rglob("*")) if out.exists() else []
    return {
        "status": {"exit": run["exit"]},
        **run,
        "left_behind": left[:5],
        **{name: check(text) for name, check in checks.items()},
    }


def train_on(options: Options, name: bytes, content: bytes, *extra: str, files=None, fast=FAST, **checks) -> dict:
    """`paxcast train` on `content` saved as `name` (bytes: it need not be UTF-8), with `files` beside it."""
    with tempfile.TemporaryDirectory(prefix="paxcast-attacks-") as tmp:
        root = Path(tmp)
        data = root / os.fsdecode(name)  # surrogateescape: the child gets the same bytes back
        data.write_bytes(content)
        for other, raw in (files or {}).items():
            (root / other).write_bytes(raw)
        out = root / "models"
        run = run_cli(options, ["train", "--data", str(data), "--out", str(out), *fast, *extra], root)
        return outcome(run, out, **checks)


def train_on_bomb(options: Options) -> dict:
    with tempfile.TemporaryDirectory(prefix="paxcast-attacks-") as tmp:
        out = Path(tmp) / "models"
        run = run_cli(
            options, ["train", "--data", str(gzip_bomb()), "--out", str(out), "--name", "bomb", *FAST], Path(tmp)
        )
        return {**outcome(run, out), "file_mb": round(BOMB.stat().st_size / 1e6, 2)}


def retrain_with_huge_history_line(options: Options) -> dict:
    with tempfile.TemporaryDirectory(prefix="paxcast-attacks-") as tmp:
        registry = Path(tmp) / "models"
        shutil.copytree(options.model_dir / "air_passengers", registry / "air_passengers")
        with open(registry / "air_passengers" / "history.jsonl", "a") as f:
            f.write('{"version": ' + "9" * 5000 + "}\n")
        before = set(registry.rglob("*"))
        args = ["retrain", "--registry", str(registry), "--name", "air_passengers"]
        run = run_cli(options, [*args, "--data", str(options.data_dir / "air_passengers.csv"), *FAST], Path(tmp))
        text = run.pop("_output")
        return {
            "status": {"exit": run["exit"]},
            **run,
            "new_files": sorted(str(p.relative_to(registry)) for p in set(registry.rglob("*")) - before)[:5],
            "tail": text.strip().splitlines()[-1][:200] if text.strip() else "",
        }


def injected_line(text: str) -> bool:
    return any(line.startswith("EVIL") for line in text.splitlines())


CASES = {
    # Two series: a file of one series trains a per-series model, whose reader refuses gaps and long fields first.
    "cli-hourly-row-at-9999-12-31": lambda o: train_on(
        o, b"far.csv", rows_csv([*hourly("a", 12), ("a", "9999-12-31T23:00:00", 1), *hourly("b", 12)]), fast=FAST_GLOBAL
    ),
    "cli-one-field-y-4MB": lambda o: train_on(o, b"wide.csv", long_field(4_000_000), fast=FAST_GLOBAL),
    "cli-one-field-y-40MB": lambda o: train_on(o, b"wider.csv", long_field(40_000_000), fast=FAST_GLOBAL),
    "cli-gzip-bomb-1GiB-inside": train_on_bomb,
    "cli-ds-year-0000": lambda o: train_on(o, b"y0.csv", rows_csv([("a", "0000-01-01", 5), *monthly("a", 48)])),
    "cli-ds-year-minus-001": lambda o: train_on(o, b"ym1.csv", rows_csv([("a", "-001-01-01", 5), *monthly("a", 48)])),
    "cli-non-utf8-file-name": lambda o: train_on(
        o, b"air\xff.csv", (o.data_dir / "air_passengers.csv").read_bytes(), "--name", "air"
    ),
    "cli-holidays-not-utf8": lambda o: train_on(
        o,
        b"two.csv",
        rows_csv([*daily("a", 200), *daily("b", 200)]),
        "--kind",
        "global",
        "--holidays",
        "hol.csv",
        "--name",
        "two",
        files={"hol.csv": b"ds\n2024-01-01\n\xff\xfe2024-02-01\n"},
        fast=FAST_GLOBAL,
    ),
    "cli-retrain-5000-digit-history-line": retrain_with_huge_history_line,
    "cli-id-with-newline": lambda o: train_on(
        o, b"nl.csv", rows_csv(monthly("a\nEVIL attacker text", 3)), injected_line=injected_line
    ),
    "cli-id-with-ansi-escape": lambda o: train_on(
        o, b"ansi.csv", rows_csv(monthly("\x1b[31mRED\x1b[0m", 3)), raw_escape=lambda text: "\x1b[" in text
    ),
}
