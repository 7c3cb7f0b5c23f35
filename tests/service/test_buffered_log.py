"""The access log's handler: lines gathered in memory, written in order in one write, none lost at close,
and a broken stream never raised into the caller."""

import io
import logging

from paxcast.service.api.buffered_log import BufferedStreamHandler
from tests.serving import wait_until


class CountingStream(io.StringIO):
    def __init__(self):
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


class BrokenStream(io.StringIO):
    def __init__(self):
        super().__init__()
        self.attempts = 0

    def write(self, text: str) -> int:
        self.attempts += 1
        raise BrokenPipeError("the reader went away")


def logger_with(handler: logging.Handler) -> logging.Logger:
    log = logging.getLogger(f"test-buffered-{id(handler)}")
    log.handlers, log.propagate = [handler], False
    log.setLevel(logging.INFO)
    return log


def test_gathered_lines_are_written_in_order_in_one_write():
    stream = CountingStream()
    handler = BufferedStreamHandler(stream, flush_seconds=3600)
    log = logger_with(handler)
    for k in range(100):
        log.info("line %d", k)
    assert stream.getvalue() == ""  # gathered, not written yet
    handler.flush()
    assert stream.getvalue().splitlines() == [f"line {k}" for k in range(100)]
    assert stream.writes == 1
    handler.close()


def test_the_background_thread_writes_within_the_flush_period():
    stream = CountingStream()
    handler = BufferedStreamHandler(stream, flush_seconds=0.05)
    logger_with(handler).info("one line")
    wait_until(stream.getvalue, 10, "the line written", interval=0.01)
    assert stream.getvalue() == "one line\n" and stream.writes == 1
    handler.close()


def test_a_full_buffer_is_written_at_once_and_close_writes_the_rest():
    stream = CountingStream()
    handler = BufferedStreamHandler(stream, flush_seconds=3600, max_chars=1000)
    log = logger_with(handler)
    for k in range(35):
        log.info("%s", f"{k:02d}" + "x" * 98)  # 100 characters each: every 10th line fills the buffer
    assert stream.getvalue().count("\n") == 30 and stream.writes == 3
    handler.close()
    assert [line[:2] for line in stream.getvalue().splitlines()] == [f"{k:02d}" for k in range(35)]


def test_a_broken_stream_is_reported_never_raised_and_the_flusher_keeps_going(capsys):
    broken = BrokenStream()
    handler = BufferedStreamHandler(broken, flush_seconds=0.02, max_chars=10)
    log = logger_with(handler)
    log.info("a line longer than ten characters")  # fills the buffer: written (and failing) inside emit
    assert broken.attempts == 1
    log.info("short")
    wait_until(lambda: broken.attempts == 2, 10, "the flusher tried to write 'short'", interval=0.01)
    log.info("again")  # the flusher survived its failure: it tries this one too
    wait_until(lambda: broken.attempts == 3, 10, "the flusher tried to write 'again'", interval=0.01)
    assert handler.flusher.is_alive()
    # the report follows the failed attempt on the flusher's thread: wait for it, not only for the attempt
    reports = []
    wait_until(
        lambda: (
            reports.append(capsys.readouterr().err)
            or "".join(reports).count("BrokenPipeError: the reader went away") == 3
        ),
        10,
        "three failed writes reported",
        interval=0.01,
    )
    handler.stream = CountingStream()  # the reader is back
    log.info("after")
    wait_until(handler.stream.getvalue, 10, "the flusher wrote 'after'", interval=0.01)
    assert handler.stream.getvalue() == "after\n"
    handler.close()
