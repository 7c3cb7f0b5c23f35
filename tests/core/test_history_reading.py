"""history.jsonl is read by one rule both ways: oldest first (retrain, reconcile), newest first in blocks (the page)."""

from __future__ import annotations

import io
import random

import pytest

from paxcast.service.core import history
from paxcast.service.core.history import lines_newest_first, lines_oldest_first


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 7 bytes and lines of at most 10, so a few bytes cross every boundary the reader has."""
    monkeypatch.setattr(history, "BLOCK_BYTES", 7)
    monkeypatch.setattr(history, "MAX_LINE_BYTES", 10)


def random_file(rng: random.Random) -> bytes:
    lines = [b"x" * rng.choice([0, 1, 6, 7, 8, 10, 11, 14, 25]) for _ in range(rng.randrange(0, 8))]
    return b"\n".join(lines) + rng.choice([b"", b"\n"])


def test_newest_first_is_oldest_first_reversed(small_blocks):
    rng = random.Random(30)
    for _ in range(2000):
        content = random_file(rng)
        oldest = list(lines_oldest_first(io.BytesIO(content)))
        newest = list(lines_newest_first(io.BytesIO(content), budget=len(content) + 1))
        if content.endswith(b"\n") or not content:
            oldest.append(b"")  # reading backwards sees the empty line after a final newline
        assert newest == oldest[::-1], content


def test_a_line_over_the_limit_is_none_both_ways(small_blocks):
    content = b"0123456789\n01234567890\n" + b"y" * 40
    assert list(lines_oldest_first(io.BytesIO(content))) == [b"0123456789", None, None]
    assert list(lines_newest_first(io.BytesIO(content), budget=100)) == [None, None, b"0123456789"]


def test_newest_first_reads_no_further_than_its_budget(small_blocks):
    content = b"aaa\nbbb\nccc\n"
    assert list(lines_newest_first(io.BytesIO(content), budget=6)) == [b"", b"ccc"]  # "bb" is cut: not yielded
    assert list(lines_newest_first(io.BytesIO(content), budget=8)) == [b"", b"ccc"]  # whole, but its start unseen
    assert list(lines_newest_first(io.BytesIO(content), budget=9)) == [b"", b"ccc", b"bbb"]
