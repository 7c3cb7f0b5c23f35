"""The access log's handler: lines gathered in memory, written in order by one periodic write, none lost at close."""

import io
import logging
import time

from paxcast.service.buffered_log import BufferedStreamHandler


class CountingStream(io.StringIO):
    def __init__(self):
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def logger_with(handler: logging.Handler) -> logging.Logger:
    log = logging.getLogger(f"test-buffered-{id(handler)}")
    log.handlers, log.propagate = [handler], False
    log.setLevel(logging.INFO)
    return log


def test_lines_arrive_in_order_within_the_flush_period_in_one_write():
    stream = CountingStream()
    handler = BufferedStreamHandler(stream, flush_seconds=0.05)
    log = logger_with(handler)
    for k in range(100):
        log.info("line %d", k)
    assert stream.getvalue() == ""  # gathered, not written yet
    deadline = time.monotonic() + 5
    while not stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stream.getvalue().splitlines() == [f"line {k}" for k in range(100)]
    assert stream.writes == 1
    handler.close()


def test_a_full_buffer_is_written_at_once_and_close_writes_the_rest():
    stream = CountingStream()
    handler = BufferedStreamHandler(stream, flush_seconds=3600, max_bytes=1000)
    log = logger_with(handler)
    for k in range(35):
        log.info("%s", f"{k:02d}" + "x" * 98)  # 100 characters each: every 10th line fills the buffer
    assert stream.getvalue().count("\n") == 30 and stream.writes == 3
    handler.close()
    assert [line[:2] for line in stream.getvalue().splitlines()] == [f"{k:02d}" for k in range(35)]
