"""The access log's handler: lines gathered in memory, written in order in one write, none lost at close,
and a broken stream never raised into the caller."""

import io
import logging
import time

from paxcast.service.api.buffered_log import BufferedStreamHandler


class CountingStream(io.StringIO):
    def __init__(self):
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


class BrokenStream(io.StringIO):
    def write(self, text: str) -> int:
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
    deadline = time.monotonic() + 10
    while not stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stream.getvalue() == "one line\n"
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
    handler = BufferedStreamHandler(BrokenStream(), flush_seconds=0.02, max_chars=10)
    log = logger_with(handler)
    log.info("a line longer than ten characters")  # fills the buffer: written (and failing) inside emit
    log.info("short")
    time.sleep(0.2)  # several flush periods, each failing
    assert handler.flusher.is_alive()
    assert "BrokenPipeError" in capsys.readouterr().err
    handler.stream = CountingStream()  # the reader is back
    log.info("after")
    handler.flush()
    assert handler.stream.getvalue() == "after\n"
    handler.close()
