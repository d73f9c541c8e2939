"""The export plumbing JSON importers share: `ExportFiles` (a folder, a `.zip`, a
`.tar.gz` or a single file, read the same way), `JsonDoc` (a JSON file whose every
problem names the file and the JSON path).
"""

from __future__ import annotations

import json
import tarfile
import zipfile
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn

from twoway.plugin.importer import ImportFailed
from twoway.plugin.table import parse_iso

__all__ = ["ExportFiles", "JsonDoc"]

class ExportFiles:
    """The files of an export, wherever they are: a folder, a `.zip`, a `.tar.gz`, or one file.

    `names` are `/`-separated; a folder's start with the folder's own name, so a rule
    like "`Google+ Stream/Posts/*.json`" matches whether PATH is the export's top folder or
    one inside it. `label(name)` is how an error names the file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        self._tar: tarfile.TarFile | None = None
        self._members: dict[str, tarfile.TarInfo] = {}
        if not path.exists():
            raise ImportFailed(f"{path}: no such file or folder")
        try:
            if path.is_dir():
                base = path.parent
                self.names = sorted(p.relative_to(base).as_posix() for p in path.rglob("*") if p.is_file())
            elif zipfile.is_zipfile(path):
                self._zip = zipfile.ZipFile(path)
                self.names = sorted(n for n in self._zip.namelist() if not n.endswith("/"))
            elif tarfile.is_tarfile(path):
                self._tar = tarfile.open(path)
                self._members = {m.name.removeprefix("./"): m for m in self._tar.getmembers() if m.isfile()}
                self.names = sorted(self._members)
            else:
                self.names = [path.name]
        except (OSError, zipfile.BadZipFile, tarfile.TarError) as e:
            self.close()
            raise ImportFailed(f"{path.name}: cannot read: {getattr(e, 'strerror', None) or e}") from None

    @property
    def is_archive(self) -> bool:
        return self._zip is not None or self._tar is not None

    def label(self, name: str) -> str:
        return f"{self.path.name}/{name}" if self.is_archive else name

    def read(self, name: str) -> bytes:
        try:
            if self._zip is not None:
                return self._zip.read(name)
            if self._tar is not None:
                member = self._tar.extractfile(self._members[name])
                return member.read() if member else b""
            return (self.path.parent / name).read_bytes() if self.path.is_dir() else self.path.read_bytes()
        except (OSError, KeyError, zipfile.BadZipFile, tarfile.TarError) as e:
            raise ImportFailed(f"{self.label(name)}: cannot read: {getattr(e, 'strerror', None) or e}") from None

    def json(self, name: str) -> JsonDoc:
        return JsonDoc(self.label(name), self.read(name))

    def close(self) -> None:
        for archive in (self._zip, self._tar):
            if archive is not None:
                archive.close()

    def __enter__(self) -> ExportFiles:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class JsonDoc:
    """One JSON file of an export; every problem is one line naming the file and the JSON path."""

    def __init__(self, label: str, data: bytes) -> None:
        self.label = label
        try:
            self.root: Any = json.loads(data)
        except UnicodeDecodeError as e:
            raise ImportFailed(f"{label}: not UTF-8 text (byte {e.start})") from None
        except json.JSONDecodeError as e:
            raise ImportFailed(f"{label}: line {e.lineno}, column {e.colno}: not valid JSON ({e.msg})") from None

    def fail(self, path: str, problem: str) -> NoReturn:
        raise ImportFailed(f"{self.label}: {path}: {problem}" if path else f"{self.label}: {problem}")

    def get(self, obj: dict[str, Any], path: str, key: str, kind: type, *, required: bool = False) -> Any:
        """`obj[key]` when it is a `kind`; `None` when absent or null, unless required."""
        where = f"{path}.{key}" if path else key
        value = obj.get(key)
        if value is None:
            if required:
                self.fail(where, "missing")
            return None
        if not isinstance(value, kind) or isinstance(value, bool):
            self.fail(where, f"expected {_KINDS.get(kind, kind.__name__)}, found {_kind_of(value)}")
        return value

    def objects(self, obj: dict[str, Any], path: str, key: str) -> list[tuple[str, dict[str, Any]]]:
        """The objects of a list field with their paths; an absent list is empty."""
        where = f"{path}.{key}" if path else key
        items = self.get(obj, path, key, list) or []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                self.fail(f"{where}[{i}]", f"expected an object, found {_kind_of(item)}")
        return [(f"{where}[{i}]", item) for i, item in enumerate(items)]

    def time(self, obj: dict[str, Any], path: str, key: str, example: str = "2024-05-01T10:00:00Z") -> datetime:
        value = self.get(obj, path, key, str, required=True)
        moment = parse_iso(value)
        if moment is None:
            self.fail(f"{path}.{key}" if path else key, f"{value!r} is not a time like {example}")
        return moment

    def top(self) -> dict[str, Any]:
        if not isinstance(self.root, dict):
            self.fail("", f"expected a JSON object, found {_kind_of(self.root)}")
        return self.root


_KINDS = {str: "a string", list: "a list", dict: "an object", int: "a number", bool: "true/false", type(None): "null"}


def _kind_of(value: object) -> str:
    return _KINDS.get(type(value), "a number")
