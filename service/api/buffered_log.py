"""A log handler that gathers its lines and writes them in one call every `flush_seconds`.

The access log wrote one JSON line per request, each a write system call (the image and most
process managers run Python unbuffered: PYTHONUNBUFFERED=1). nginx's `access_log ... buffer=
flush=` is the model: lines wait in memory, a background thread writes what gathered every
`flush_seconds` (and at once when `max_chars` gathered), and the app's shutdown writes the rest
(observability.RequestObserver flushes at `lifespan.shutdown.complete`: a uvicorn worker then dies
by its re-raised SIGTERM, without running logging's own shutdown). A process killed with SIGKILL
loses at most `flush_seconds` of lines.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref

# How late a line may reach the stream (the live tests wait for the lines they expect: tests/service/live.py).
FLUSH_SECONDS = 0.2


class BufferedStreamHandler(logging.StreamHandler):
    def __init__(self, stream=None, flush_seconds: float = FLUSH_SECONDS, max_chars: int = 64 * 1024):
        super().__init__(stream)
        self.flush_seconds = flush_seconds
        self.max_chars = max_chars
        self.lines: list[str] = []
        self.gathered = 0  # characters in `lines`
        self.flusher: threading.Thread | None = None
        self.closing = threading.Event()
        # A child forked after the first line must neither write the parent's lines again nor wait on the
        # parent's flusher thread, which does not exist in it.
        handler = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: (h := handler()) is not None and h.forget_parent())

    def forget_parent(self) -> None:
        self.lines, self.gathered, self.flusher = [], 0, None

    def emit(self, record: logging.LogRecord) -> None:  # called with the handler's lock held
        try:
            line = self.format(record)
            self.lines.append(line)
            self.gathered += len(line)
            if self.gathered >= self.max_chars:
                self.write_gathered()
        except Exception:  # as StreamHandler: a failing stream is reported on stderr, never raised into a request
            self.handleError(record)
        if self.flusher is None:  # started by the first line, so in the process (worker) that writes
            self.flusher = threading.Thread(target=self.flush_periodically, name="log-flusher", daemon=True)
            self.flusher.start()

    def write_gathered(self) -> None:
        if self.lines:
            text = self.terminator.join(self.lines) + self.terminator
            self.lines, self.gathered = [], 0  # dropped even if the write fails: a broken stream must not grow them
            self.stream.write(text)
            super().flush()

    def flush(self) -> None:
        with self.lock:
            try:
                self.write_gathered()
            except Exception:
                self.handleError(logging.makeLogRecord({"msg": "buffered log lines could not be written"}))

    def flush_periodically(self) -> None:
        while not self.closing.wait(self.flush_seconds):
            self.flush()  # never raises: a failed write is reported and the next period tries again

    def close(self) -> None:
        self.closing.set()
        try:
            self.flush()
        finally:
            super().close()
