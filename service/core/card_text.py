"""The text a card may hold: file names that pages show and look up as they are, and no lone surrogate.

A lone surrogate is how Python carries a byte that is not UTF-8 (a file name read with surrogateescape);
JSON can spell one ("\\udcff"), but no response can carry it: a card holding one loaded, then made every
route that shows it a 500 (issue 30).
"""

from __future__ import annotations

from typing import Any

# What a card's file names (`data_file`, `covariates.holiday_file`) must be: a file name the pages show and look
# up as it is, so no folder (/ or \), no "." or "..", no control characters, and text UTF-8 can encode.
PLAIN_NAME_RULE = "must be a plain file name (no folder, no control characters, UTF-8 text)"


def is_control(char: str) -> bool:
    return ord(char) < 32 or ord(char) == 127


def is_plain_file_name(name: str) -> bool:
    """`name` follows PLAIN_NAME_RULE."""
    if name in ("", ".", "..") or "/" in name or "\\" in name or any(map(is_control, name)):
        return False
    try:
        name.encode("utf-8")  # a lone surrogate (Python's stand-in for a byte that is not UTF-8) cannot be sent
    except UnicodeEncodeError:
        return False
    return True


def check_file_name(name: str | None) -> str | None:
    """`name` if it is a plain file name (or None); ValueError stating the rule and showing it in ASCII."""
    if name is not None and not is_plain_file_name(name):
        raise ValueError(f"{PLAIN_NAME_RULE}; got {ascii(name[:100])}")
    return name


def storable_file_name(name: str) -> str:
    """A file's name as a card stores it: bytes that are not UTF-8 (surrogate-escaped by Python), control
    characters and backslashes (a folder separator to the pages) become U+FFFD, so the card is valid text
    and PLAIN_NAME_RULE holds for any real file's name; `data_sha256` still identifies the file."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return "".join("\ufffd" if is_control(c) or c == "\\" else c for c in text)


def lone_surrogate(data: Any, where: str = "") -> tuple[str, str] | None:
    """(field path, character) of the first string in parsed JSON, keys included, that UTF-8 cannot encode."""
    if isinstance(data, str):
        try:
            data.encode("utf-8")
        except UnicodeEncodeError as exc:
            return where.encode("utf-8", "backslashreplace").decode("utf-8") or "a key", data[exc.start]
        return None
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        here = f"{where}.{key}" if where else str(key)
        found = (lone_surrogate(key, here) if isinstance(key, str) else None) or lone_surrogate(value, here)
        if found is not None:
            return found
    return None
