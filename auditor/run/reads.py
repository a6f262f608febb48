"""What a test read of the HTTP answers it received, and which of those parts a sabotage changed.

A response object the interceptor hands back is switched to a subclass of its own class whose attribute
lookups note what was read: the status (``status_code``, ``ok``, ``is_success``, ``raise_for_status``...),
the headers, the raw body (``text``, ``content``, ``iter_*``) or, through ``json()``, individual JSON paths:
the parsed value is a dict/list subclass that notes each leaf read (``$.content[0].text``), each length or
key listing (``$.content.#len``, ``$.#keys``) and each whole comparison (``$.content`` when the test compared
the whole list). Reads made by the HTTP libraries themselves (httpx reading the status to log it, requests
reading the body for the client) are not the test's and are not noted; reads by any other code the test
called (its helpers, an SDK) are.

Nothing is copied or parsed ahead of the test: the proxies wrap a value only when it is reached, and they
compare, print, serialise and pickle like the plain dicts and lists they are. They are still subclasses, and
``type(body) is dict`` can tell: so JSON paths are tracked only inside probe sessions (whose answers are
sabotaged anyway); an observed run notes a ``json()`` call as a read of the ``body`` and hands the test the
very object the library parsed, keeping every outcome exactly what plain pytest gives.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any


__all__ = [
    "CONNECTION",
    "child_path",
    "STATUS",
    "STREAM_END",
    "BODY",
    "HEADERS",
    "REQUEST",
    "TIME",
    "TrackedDict",
    "TrackedList",
    "clock_read",
    "set_project_root",
    "track_json_paths",
    "track_request",
    "track_response",
    "watch_clock",
]

STATUS = "status"
HEADERS = "headers"
BODY = "body"  # the raw body or stream as bytes or text: every part of it
STREAM_END = "stream-end"  # an event stream read to its end
REQUEST = "request"  # the request as sent (a test of what the client builds)
CONNECTION = "connection"  # a change only: the connection was refused or dropped
TIME = "time"  # a change only: the answer arrived later


#: Top-level modules whose reads are the HTTP machinery's own, not the test's.
_LIBRARIES = frozenset({"httpx", "httpx2", "httpcore", "requests", "urllib3", "h11", "h2", "anyio", "starlette",
                        "http", "auditor", "email", "json", "copy", "copyreg", "pickle", "logging"})

_STATUS_NAMES = frozenset({"status_code", "ok", "is_success", "is_error", "is_client_error", "is_server_error",
                           "is_redirect", "is_informational", "raise_for_status", "reason_phrase", "reason",
                           "is_permanent_redirect", "has_redirect_location"})
_BODY_NAMES = frozenset({"text", "content", "read", "aread", "iter_bytes", "iter_text", "iter_lines", "iter_raw",
                         "aiter_bytes", "aiter_text", "aiter_lines", "aiter_raw", "iter_content", "raw",
                         "apparent_encoding"})
_REQUEST_PARTS = frozenset({"headers", "content", "body", "url", "method", "read", "stream", "params", "json"})


#: Where the audited project lives: only its own code's reads of a request count (an SDK reading the request
#: it built, to log or retry it, is not the test checking what was sent).
_project: list[str] = []
#: JSON paths are tracked (probe sessions) or a ``json()`` call is noted as reading the body (observed runs).
_paths: list[bool] = [False]


def track_json_paths(enabled: bool) -> None:
    """Hand tests JSON proxies that note each path read (probe sessions only; see the module docstring)."""
    _paths[0] = enabled


def set_project_root(root: str) -> None:
    """Count reads of requests only from files under ``root`` (outside installed packages)."""
    _project[:] = [root.rstrip("/") + "/"]


def _callers_own(depth: int = 2) -> bool:
    """True when the frame ``depth`` up belongs to the test or code it called, not an HTTP library."""
    name = sys._getframe(depth).f_globals.get("__name__", "")
    return name.partition(".")[0] not in _LIBRARIES


def _projects_own(depth: int = 2) -> bool:
    """True when the frame ``depth`` up is the project's own code (its tests and helpers)."""
    frame = sys._getframe(depth)
    if frame.f_globals.get("__name__", "").partition(".")[0] in _LIBRARIES:
        return False
    if not _project:
        return True
    filename = frame.f_code.co_filename
    return filename.startswith(_project[0]) and "site-packages" not in filename


# ---------------------------------------------------------------------------------------------- JSON values
_REPRESENTERS = ("_pytest", "reprlib", "pprint")


def _not_pytests_repr() -> bool:
    # pytest's rewritten asserts format their operands even when the assert passes: that is not a read
    frame = sys._getframe(2)
    return not frame.f_globals.get("__name__", "").startswith(_REPRESENTERS)


def child_path(path: str, key: Any) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}"


def _wrap(value: Any, path: str, reads: set[str]) -> Any:
    if type(value) is dict:
        return TrackedDict(value, path, reads)
    if type(value) is list:
        return TrackedList(value, path, reads)
    return value


class _Proxy:
    """What a tracked JSON object and array share: their path, the read set, whole reads, plain copies."""

    #: The plain type the proxy stands for (``dict`` or ``list``): its methods do the actual work.
    _plain: type
    _auditor_path: str
    _auditor_reads: set[str]

    def __init__(self, data: Any, path: str, reads: set[str]) -> None:
        self._plain.__init__(self, data)
        self._auditor_path, self._auditor_reads = path, reads

    def _note(self, part: str) -> None:
        self._auditor_reads.add(part)

    def _whole(self) -> None:
        self._note(self._auditor_path)

    def _child(self, key: Any, position: Any) -> Any:
        """The value at ``key``, wrapped once and kept wrapped (identity holds); a leaf is noted as read."""
        value = self._plain.__getitem__(self, key)
        if isinstance(value, _Proxy):  # reached before: reads inside it are its own
            return value
        path = child_path(self._auditor_path, position)
        wrapped = _wrap(value, path, self._auditor_reads)
        if wrapped is not value:
            self._plain.__setitem__(self, key, wrapped)
        else:
            self._note(path)
        return wrapped

    def __eq__(self, other: object) -> bool:
        self._whole()
        return self._plain.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        self._whole()
        return self._plain.__ne__(self, other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if _not_pytests_repr():
            self._whole()
        return self._plain.__repr__(self)

    def copy(self) -> Any:
        self._whole()
        return self._plain.copy(self)

    def __reduce_ex__(self, protocol: Any) -> Any:
        # copies and pickles are plain values: the proxy's bookkeeping must not travel
        self._whole()
        return self._plain, (self._plain.copy(self),)


class TrackedDict(_Proxy, dict):
    """A JSON object that notes which of its parts are read (see the module docstring)."""

    _plain = dict

    def __getitem__(self, key: Any) -> Any:
        try:
            return self._child(key, key)
        except KeyError:
            self._note(f"{self._auditor_path}.#keys")
            raise

    def get(self, key: Any, default: Any = None) -> Any:
        if dict.__contains__(self, key):
            return self._child(key, key)
        self._note(f"{self._auditor_path}.#keys")
        return default

    def __contains__(self, key: object) -> bool:
        self._note(f"{self._auditor_path}.#keys")
        return dict.__contains__(self, key)

    def __iter__(self) -> Iterator[Any]:
        self._note(f"{self._auditor_path}.#keys")
        return dict.__iter__(self)

    def keys(self) -> Any:
        self._note(f"{self._auditor_path}.#keys")
        return dict.keys(self)

    def __len__(self) -> int:
        self._note(f"{self._auditor_path}.#len")
        return dict.__len__(self)

    def values(self) -> Any:
        return [self._child(key, key) for key in list(dict.keys(self))]

    def items(self) -> Any:
        self._note(f"{self._auditor_path}.#keys")
        return [(key, self._child(key, key)) for key in list(dict.keys(self))]


class TrackedList(_Proxy, list):
    """A JSON array that notes which of its parts are read (see the module docstring)."""

    _plain = list

    def _at(self, index: int) -> Any:
        return self._child(index, index if index >= 0 else index + list.__len__(self))

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            self._whole()
            return list.__getitem__(self, index)
        try:
            return self._at(index)
        except IndexError:
            self._note(f"{self._auditor_path}.#len")
            raise

    def __iter__(self) -> Iterator[Any]:
        self._note(f"{self._auditor_path}.#len")
        for index in range(list.__len__(self)):
            yield self._at(index)

    def __len__(self) -> int:
        self._note(f"{self._auditor_path}.#len")
        return list.__len__(self)

    def __contains__(self, item: object) -> bool:
        self._whole()
        return list.__contains__(self, item)

    def index(self, *args: Any) -> int:
        self._whole()
        return list.index(self, *args)

    def count(self, item: Any) -> int:
        self._whole()
        return list.count(self, item)


# ---------------------------------------------------------------------------------------------- responses
#: Every response attribute that reads something; any other lookup returns before looking at the caller.
_RESPONSE_PARTS = _STATUS_NAMES | _BODY_NAMES | {"headers", "json", "request"}

#: Tracked subclasses (of responses and requests), by the class they extend.
_tracked_classes: dict[type, type] = {}


def _tracking(obj: Any, reads: set[str], on_read: Any) -> None:
    """Switch ``obj`` to a subclass of its class whose lookups call ``on_read(name, value, reads)``; the
    subclass is made once per class. A class that cannot be extended leaves its reads unnoted."""
    base = type(obj)
    if base in _tracked_classes.values():  # tracked already: only the read set is new
        obj.__dict__["_auditor_reads"] = reads
        return
    tracked = _tracked_classes.get(base)
    if tracked is None:
        def __getattribute__(self: Any, name: str) -> Any:  # noqa: N807 - the one hook that sees every read
            value = base.__getattribute__(self, name)
            found = base.__getattribute__(self, "__dict__").get("_auditor_reads")
            return value if found is None else on_read(name, value, found)

        tracked = _tracked_classes[base] = type(base.__name__, (base,), {
            "__getattribute__": __getattribute__, "__module__": base.__module__, "__qualname__": base.__qualname__})
    try:
        obj.__dict__["_auditor_reads"] = reads
        obj.__class__ = tracked
    except (TypeError, AttributeError):
        pass


def _response_read(name: str, value: Any, reads: set[str]) -> Any:
    if name not in _RESPONSE_PARTS or not _callers_own(3):
        return value
    if name in _STATUS_NAMES:
        reads.add(STATUS)
    elif name in _BODY_NAMES:
        reads.add(BODY)
    elif name == "headers":
        reads.add(HEADERS)
    elif name == "json":
        if _paths[0]:
            return _json_reader(value, reads)
        reads.add(BODY)
    elif _projects_own(3):  # the request sent: only the project's own code checking it counts
        reads.add(REQUEST)
    return value


def _request_read(name: str, value: Any, reads: set[str]) -> Any:
    if name in _REQUEST_PARTS and _projects_own(3):
        reads.add(REQUEST)
    return value


def _json_reader(method: Any, reads: set[str]) -> Any:
    def json(*args: Any, **kwargs: Any) -> Any:
        return _wrap(method(*args, **kwargs), "$", reads)

    return json


def track_response(response: Any, reads: set[str]) -> None:
    """Note from now on what is read of ``response`` into ``reads``."""
    _tracking(response, reads, _response_read)


def track_request(request: Any, reads: set[str]) -> None:
    """Note from now on what the test reads of the request it sent (``REQUEST``)."""
    _tracking(request, reads, _request_read)


# ---------------------------------------------------------------------------------------------- clocks
#: Whether the project's own code read a clock while :func:`watch_clock` was on.
_clock: list[bool] = [False]
_CLOCKS = ("perf_counter", "perf_counter_ns", "monotonic", "monotonic_ns", "time", "time_ns")
_clock_originals: dict[str, Any] = {}


#: Project modules' own names for a clock (``from time import perf_counter as now``), rebound while watched.
_clock_rebound: list[tuple[dict[str, Any], str, Any]] = []


def watch_clock(enabled: bool) -> None:
    """Note whether the test (or its project's code) reads a clock: a late answer changes nothing for a test
    that measures no time (one that checks the server's own timing header, say). On only while a probe
    delays answers."""
    import time as clock

    if enabled and not _clock_originals:
        _clock[0] = False
        watched: dict[int, Any] = {}
        for name in _CLOCKS:
            original = _clock_originals[name] = getattr(clock, name)

            def read(_original: Any = original) -> Any:
                if not _clock[0] and _projects_own():
                    _clock[0] = True
                return _original()

            setattr(clock, name, read)
            watched[id(original)] = read
        _rebind_project_clocks(watched)
    elif not enabled and _clock_originals:
        for name, original in _clock_originals.items():
            setattr(clock, name, original)
        _clock_originals.clear()
        for namespace, name, original in _clock_rebound:
            namespace[name] = original
        _clock_rebound.clear()


def _rebind_project_clocks(watched: dict[int, Any]) -> None:
    """A project module that imported a clock function by name holds the original, not the ``time`` module's
    attribute: rebind those names too, or a test timing with ``from time import perf_counter`` goes unseen."""
    if not _project:
        return  # without the project's folder, its modules cannot be told from the libraries'
    for module in list(sys.modules.values()):
        filename = getattr(module, "__file__", None) or ""
        if not filename.startswith(_project[0]) or "site-packages" in filename:
            continue
        namespace = vars(module)
        for name, value in list(namespace.items()):
            replacement = watched.get(id(value))
            if replacement is not None:
                _clock_rebound.append((namespace, name, value))
                namespace[name] = replacement


def clock_read() -> bool:
    """Whether a clock was read by the project's own code since :func:`watch_clock` was turned on."""
    return _clock[0]
