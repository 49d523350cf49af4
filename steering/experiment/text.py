"""The rule for invisible characters in data files and config texts.

One rule everywhere (examples, prompts, judge shots, ratings, checks, concept descriptions):

* A UTF-8 byte-order mark (U+FEFF) at the very start of a file is removed: editors and
  spreadsheets add it, and it is not data.
* A line or text with no visible character (only whitespace and invisible format characters
  such as the zero-width space U+200B, the joiners U+200C/U+200D, U+2060 or a BOM) is refused.
* An invisible format character at the start or end of a text is refused: it is never meant
  there, the tokenizer sees it, and it makes ``"a cat\u200b"`` a different example from
  ``"a cat"``. Inside a text it is kept (joiners are part of emoji and of some scripts).
* Control characters other than the tab (NUL, ESC, a lone carriage return ...) are refused.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from steering.experiment.errors import ConfigError

BOM = "\ufeff"


def _is_invisible(char: str) -> bool:
    return unicodedata.category(char) == "Cf"


def _is_control(char: str) -> bool:
    return unicodedata.category(char) == "Cc" and char != "\t"


def _code(char: str) -> str:
    return f"U+{ord(char):04X}"


def text_problem(text: str) -> str | None:
    """Why ``text`` breaks the rule above (a phrase naming the character), or None if it is fine."""
    controls = [c for c in text if _is_control(c)]
    if controls:
        return f"contains the control character {_code(controls[0])}"
    if not any(not c.isspace() and not _is_invisible(c) for c in text):
        codes = ", ".join(dict.fromkeys(_code(c) for c in text if _is_invisible(c)))
        return f"is blank (only invisible characters {codes})" if codes else "is blank"
    stripped = text.strip()
    for side, char in (("starts", stripped[0]), ("ends", stripped[-1])):
        if _is_invisible(char):
            return f"{side} with the invisible character {_code(char)}"
    return None


def strip_bom(text: str) -> str:
    """``text`` without a leading byte-order mark."""
    return text[1:] if text.startswith(BOM) else text


def read_text(path: str | Path, what: str) -> str:
    """The text of a UTF-8 file, without a leading byte-order mark.

    Raises:
        ConfigError: ``"{what} {path} does not exist."``, or the file is not UTF-8 (the message
            names the line and byte).
    """
    target = Path(path)
    if not target.is_file():
        raise ConfigError(f"{what} {target} does not exist.")
    raw = target.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ConfigError(
            f"{what} {target} is not UTF-8 (line {line}, byte {error.start}); re-save it as UTF-8."
        ) from None
    return strip_bom(text)
