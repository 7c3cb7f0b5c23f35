"""A log handler that gathers its lines and writes them in one call every `flush_seconds`.

The access log wrote one JSON line per request, each a write system call (the image and most
process managers run Python unbuffered: PYTHONUNBUFFERED=1). nginx's `access_log ... buffer=
flush=` is the model: lines wait in memory, a background thread writes what gathered every
`flush_seconds` (and at once when `max_bytes` gathered), and logging's shutdown writes the rest.
A process killed with SIGKILL loses at most that many seconds of lines.
"""

from __future__ import annotations

import logging
import threading

# How late a line may reach the stream; live tests wait this long before reading a server's output.
FLUSH_SECONDS = 0.2


class BufferedStreamHandler(logging.StreamHandler):
    def __init__(self, stream=None, flush_seconds: float = FLUSH_SECONDS, max_bytes: int = 64 * 1024):
        super().__init__(stream)
        self.flush_seconds = flush_seconds
        self.max_bytes = max_bytes
        self.lines: list[str] = []
        self.gathered = 0
        self.flusher: threading.Thread | None = None
        self.closing = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:  # called with the handler's lock held
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self.lines.append(line)
        self.gathered += len(line)
        if self.gathered >= self.max_bytes:
            self.write_gathered()
        if self.flusher is None:  # started by the first line, so in the process (worker) that writes
            self.flusher = threading.Thread(target=self.flush_periodically, name="log-flusher", daemon=True)
            self.flusher.start()

    def write_gathered(self) -> None:
        if self.lines:
            text = self.terminator.join(self.lines) + self.terminator
            self.lines, self.gathered = [], 0
            self.stream.write(text)
            super().flush()

    def flush(self) -> None:
        with self.lock:
            self.write_gathered()

    def flush_periodically(self) -> None:
        while not self.closing.wait(self.flush_seconds):
            try:
                self.flush()
            except Exception:  # a closed or broken stream must not end the thread with a traceback per period
                return

    def close(self) -> None:
        self.closing.set()
        try:
            self.flush()
        finally:
            super().close()
