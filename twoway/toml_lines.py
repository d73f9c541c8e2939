"""Where a key path (`sources[1].instance`) is written in a TOML document.

tomli reports lines only for syntax errors; configuration errors name the line too,
so this walks the (already valid) text once more and maps every key path it meets
to its line.
"""

from __future__ import annotations

import re

import tomli

__all__ = ["BARE_KEY", "LineScanner", "format_key", "join_key"]

BARE_KEY = re.compile(r"[\w-]+")


def format_key(key: str) -> str:
    return key if BARE_KEY.fullmatch(key) else '"' + key.replace('"', '\\"') + '"'


def join_key(prefix: str, key: str) -> str:
    return f"{prefix}.{format_key(key)}" if prefix else format_key(key)


class _Stop(Exception):
    pass


class LineScanner:
    """Maps key paths (`sources[1].instance`) to the line they are written on.

    tomli reports lines only for syntax errors, so this walks the (already valid)
    source once more. It is best effort: on anything it does not expect it stops,
    and the lines found so far still serve.
    """

    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.line = 1
        self.lines: dict[str, int] = {}
        self.tables: dict[str, int] = {}
        """Arrays of tables by resolved path: their current index."""

    def scan(self) -> dict[str, int]:
        try:
            self._document()
        except (_Stop, IndexError, tomli.TOMLDecodeError):
            pass
        return self.lines

    def _peek(self, n: int = 1) -> str:
        return self.s[self.i : self.i + n]

    def _advance(self, n: int = 1) -> None:
        self.line += self.s.count("\n", self.i, self.i + n)
        self.i += n

    def _skip(self, newlines: bool) -> None:
        while self.i < len(self.s):
            c = self.s[self.i]
            if c in " \t\r" or (newlines and c == "\n"):
                self._advance()
            elif c == "#":
                end = self.s.find("\n", self.i)
                self._advance((len(self.s) if end < 0 else end) - self.i)
            else:
                return

    def _expect(self, token: str) -> None:
        self._skip(newlines=False)
        if self._peek(len(token)) != token:
            raise _Stop
        self._advance(len(token))

    def _record(self, path: str, line: int) -> None:
        self.lines.setdefault(path, line)

    def _document(self) -> None:
        prefix = ""
        while True:
            self._skip(newlines=True)
            if self.i >= len(self.s):
                return
            start, line = self.i, self.line
            if self._peek(2) == "[[":
                self._advance(2)
                prefix = self._resolve(self._key(), array=True)
                self._expect("]]")
                self._record(prefix, line)
            elif self._peek() == "[":
                self._advance()
                prefix = self._resolve(self._key(), array=False)
                self._expect("]")
                self._record(prefix, line)
            else:
                path = prefix
                for part in self._key():
                    path = join_key(path, part)
                    self._record(path, line)
                self._expect("=")
                self._value(path)
            if self.i == start:
                raise _Stop

    def _resolve(self, keys: list[str], array: bool) -> str:
        path = ""
        for n, key in enumerate(keys):
            path = join_key(path, key)
            if array and n == len(keys) - 1:
                index = self.tables.get(path, -1) + 1
                self.tables[path] = index
                self._record(path, self.line)
                path += f"[{index}]"
            elif path in self.tables:
                path += f"[{self.tables[path]}]"
            self._record(path, self.line)
        return path

    def _key(self) -> list[str]:
        parts: list[str] = []
        while True:
            self._skip(newlines=False)
            c = self._peek()
            if c in "\"'":
                start = self.i
                self._string()
                parts.append(tomli.loads("k = " + self.s[start : self.i])["k"])
            else:
                match = BARE_KEY.match(self.s, self.i)
                if not match:
                    raise _Stop
                parts.append(match.group())
                self._advance(match.end() - self.i)
            self._skip(newlines=False)
            if self._peek() != ".":
                return parts
            self._advance()

    def _string(self) -> None:
        quote = self._peek()
        if self._peek(3) == quote * 3:
            self._advance(3)
            while self.i < len(self.s):
                if quote == '"' and self._peek() == "\\":
                    self._advance(2)
                elif self._peek(3) == quote * 3:
                    self._advance(3)
                    while self._peek() == quote:  # up to two quotes end the content
                        self._advance()
                    return
                else:
                    self._advance()
            raise _Stop
        self._advance()
        while self.i < len(self.s):
            c = self._peek()
            if quote == '"' and c == "\\":
                self._advance(2)
            elif c == quote:
                self._advance()
                return
            elif c == "\n":
                raise _Stop
            else:
                self._advance()
        raise _Stop

    def _value(self, path: str) -> None:
        self._skip(newlines=False)
        c = self._peek()
        if c in "\"'":
            self._string()
        elif c == "{":
            self._advance()
            while True:
                self._skip(newlines=True)
                if self._peek() == "}":
                    self._advance()
                    return
                line = self.line
                key_path = path
                for part in self._key():
                    key_path = join_key(key_path, part)
                    self._record(key_path, line)
                self._expect("=")
                self._value(key_path)
                self._skip(newlines=True)
                if self._peek() == ",":
                    self._advance()
                elif self._peek() != "}":
                    raise _Stop
        elif c == "[":
            self._advance()
            index = 0
            while True:
                self._skip(newlines=True)
                if self._peek() == "]":
                    self._advance()
                    return
                item = f"{path}[{index}]"
                self._record(item, self.line)
                self._value(item)
                self._skip(newlines=True)
                if self._peek() == ",":
                    self._advance()
                elif self._peek() != "]":
                    raise _Stop
                index += 1
        else:
            match = re.compile(r"[^,\]}\n#]+").match(self.s, self.i)
            if not match:
                raise _Stop
            self._advance(len(match.group().rstrip(" \t\r")))
