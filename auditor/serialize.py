"""The audit's JSON form: the only place :class:`~auditor.model.Audit` meets dicts.

Every renderer and the ``status``/``merge`` commands read and write audits through
:func:`audit_to_dict` / :func:`audit_from_dict`, so the JSON schema has exactly one definition.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from auditor import model
from auditor.exceptions import DataError

T = TypeVar("T")


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
_SCALARS = (str, int, float, bool, type(None))


def to_dict(obj: Any) -> Any:
    """Convert a model dataclass (recursively) into JSON-ready builtins; tuples become lists."""
    kind = type(obj)
    if kind in _SCALARS:
        return obj
    names = _FIELD_NAMES.get(kind)
    if names is None and dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        # dataclasses.fields() rebuilds its tuple on every call; a big audit has ~10^5 objects.
        names = _FIELD_NAMES[kind] = tuple(f.name for f in dataclasses.fields(obj))
    if names is not None:
        out = {}
        for name in names:  # scalars inline: most fields are, and a call per field doubles the cost
            value = getattr(obj, name)
            out[name] = value if type(value) in _SCALARS else to_dict(value)
        return out
    if isinstance(obj, (list, tuple)):
        return [to_dict(item) for item in obj]
    if isinstance(obj, dict):
        return {str(key): to_dict(value) for key, value in obj.items()}
    return obj


def from_dict(cls: type[T], data: Any) -> T:
    """Build dataclass ``cls`` from ``data`` as written by :func:`to_dict`; unknown keys are ignored."""
    if not isinstance(data, dict):
        raise DataError(f"expected an object for {cls.__name__}, got {type(data).__name__}")
    hints = typing.get_type_hints(cls, vars(model))
    kwargs = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in data:
            kwargs[f.name] = _convert(hints[f.name], data[f.name])
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise DataError(f"cannot read {cls.__name__}: {exc}") from None


def _convert(hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        non_none = [a for a in args if a is not type(None)]
        return _convert(non_none[0], value)
    if origin is tuple:
        if not isinstance(value, list):
            raise DataError(f"expected a list, got {type(value).__name__}")
        return tuple(_convert(args[0], item) for item in value)
    if origin is dict:
        return dict(value)
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value)
    return value


def audit_to_dict(audit: model.Audit) -> dict[str, Any]:
    """The audit as the documented JSON object (``format`` first, for readers that sniff it)."""
    data = to_dict(audit)
    return {"format": data.pop("format"), **data}


def audit_from_dict(data: dict[str, Any]) -> model.Audit:
    """Read an audit JSON object, refusing formats this version does not understand."""
    fmt = data.get("format") if isinstance(data, dict) else None
    if fmt != model.FORMAT_VERSION:
        raise DataError(f"unsupported audit format {fmt!r} (this auditor reads format {model.FORMAT_VERSION})")
    return from_dict(model.Audit, data)


def read_audit(path: Path) -> model.Audit:
    """Load an audit JSON file, with a one-line error for a missing or unreadable file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not a readable audit JSON file ({exc})") from None
    return audit_from_dict(data)


#: One encoder for every element: ``json.dumps`` builds a new one per call, which costs more than encoding a test case.
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode


def dumps(audit: model.Audit) -> str:
    """The audit as JSON text: top-level keys one per line, each element of a top-level array on a line.

    One test case or finding per line keeps big audits readable and diffable, and lets json's C
    encoder write them: ``indent=`` falls back to the pure-Python encoder, several times slower.
    """
    data = audit_to_dict(audit)
    lines = []
    for key, value in data.items():
        name = json.dumps(key)
        if isinstance(value, list) and value:
            items = ",\n".join("    " + _ENCODE(item) for item in value)
            lines.append(f"  {name}: [\n{items}\n  ]")
        else:
            lines.append(f"  {name}: {json.dumps(value, ensure_ascii=False)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"
