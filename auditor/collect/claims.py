"""What a test claims, read from its name and docstring: the subject a weakness must be judged against.

A construct is weak only relative to a claim. A test with no assertion is weak when it claims a result
(``test_create_order``) and right when its claim is that nothing raises (``test_close_twice_does_not_raise``,
``test_template_is_hashable``); "only checks the value exists" is weak for a content claim and right for
``test_public_names_are_importable``. Claims here are static, from words alone; the run stage adds what a
test actually read (issue #16) on top of the same vocabulary.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Sequence

#: Every claim kind the auditor knows, static or observed.
CLAIM_KINDS = (
    "does-not-raise",  # the claim is that the code runs without an exception
    "existence",  # a name, attribute, resource or import is present
    "type",  # the result's type or class
    "status",  # a status / error contract (404 for an unknown route)
    "liveness",  # the system is up / still answers
    "timing",  # a latency, duration or speed bound
    "shape",  # a response's schema: its fields, their types, the object kind
    "streaming",  # an event stream's protocol: its events and their framing
    "completion",  # an event stream finishes properly: its order and its last event (message_stop, [DONE])
    "persistence",  # a side effect that lasts: a file written, state kept across calls or restarts
    "request",  # what a client sends: the request it builds, not the answer it gets
    "content",  # the default: what the code returns or does
)

#: What a sabotage can break, per claim: a survival is a weakness only when the mode changed one of these
#: among the parts the test read, and only such a kill proves the claim (see docs/probes.md).
CLAIM_SUBJECTS: dict[str, frozenset[str]] = {
    "does-not-raise": frozenset({"connection", "status"}),
    "existence": frozenset({"shape", "status"}),
    "type": frozenset({"shape", "status"}),
    "status": frozenset({"status"}),
    "liveness": frozenset({"connection", "status"}),
    "timing": frozenset({"time", "status"}),
    "shape": frozenset({"shape", "status"}),
    "streaming": frozenset({"streaming", "shape", "status", "connection"}),
    "completion": frozenset({"completion", "streaming", "status"}),
    "persistence": frozenset({"content", "status"}),
    "request": frozenset(),
    "content": frozenset({"content", "status", "shape"}),
}


def subjects(claims: tuple[str, ...] | frozenset[str]) -> frozenset[str]:
    """Everything a sabotage may break that one of ``claims`` is about (``content`` when none is given)."""
    found: frozenset[str] = frozenset()
    for claim in claims or ("content",):
        found |= CLAIM_SUBJECTS.get(claim, CLAIM_SUBJECTS["content"])
    return found

# Word sequences (from the test's name) that state the claim. Names are split on "_" and case changes.
_NAME_PHRASES: dict[str, tuple[tuple[str, ...], ...]] = {
    "does-not-raise": (
        ("not", "raise"), ("no", "raise"), ("doesnt", "raise"), ("dont", "raise"), ("never", "raises"),
        ("not", "fail"), ("doesnt", "fail"), ("no", "error"), ("no", "errors"), ("no", "exception"),
        ("without", "error"), ("without", "errors"), ("without", "exception"), ("no", "crash"), ("not", "crash"),
        ("smoke",), ("compile",), ("compiles",), ("hash",), ("hashable",), ("pickle",), ("picklable",),
        ("pickleable",), ("accepted",), ("accepts",), ("allowed",), ("allows",), ("ignore",), ("ignores",),
        ("ignored",), ("tolerates",), ("tolerant",), ("survives",), ("noop",), ("no", "op"), ("handled",),
        ("handles",), ("no", "warning"), ("no", "warnings"), ("without", "warning"), ("without", "warnings"),
        ("not", "warn"), ("without", "raising"), ("without", "crashing"),
    ),
    "existence": (
        ("import",), ("imports",), ("importable",), ("exists",), ("exist",), ("present",), ("available",),
        ("exposes",), ("exposed",), ("defined",), ("registered",), ("has", "attr"), ("hasattr",),
        # "every exported name resolves", "the profile triggers a rule": that something is there at all
        ("resolves",), ("triggers",),
    ),
    "type": (("type",), ("types",), ("instance",), ("isinstance",), ("subclass",), ("class",), ("is", "str"),
             ("returns", "str"), ("returns", "bytes"), ("returns", "list"), ("returns", "dict")),
    "status": (("status",), ("404",), ("400",), ("401",), ("403",), ("405",), ("409",), ("422",), ("429",),
               ("not", "found"), ("unauthorized",), ("forbidden",), ("rejected",), ("rejects",), ("method", "not")),
    "liveness": (("health",), ("healthy",), ("alive",), ("liveness",), ("readiness",), ("ping",), ("up",),
                 ("ready",), ("serving",), ("usable",), ("recovers",)),
    "timing": (("latency",), ("timeout",), ("ttft",), ("throughput",), ("fast",), ("faster",), ("slow",),
               ("speed",), ("duration",), ("benchmark",), ("seconds",), ("time", "to"),
               ("round", "trip"), ("in", "time"), ("timing",)),
    "shape": (("shape",), ("schema",), ("fields",), ("keys",), ("structure",)),
    "streaming": (("stream",), ("streams",), ("streaming",), ("sse",), ("event", "order"), ("events",),
                  ("chunks",), ("done", "sentinel")),
    # "ends the turn" is a stop reason, "stop_sequence" a parameter: only phrases about the stream's end
    "completion": (("ends", "with"), ("ends", "in"), ("ending", "in"), ("finishes",), ("done",), ("sentinel",),
                   ("event", "order"), ("in", "order"), ("message", "stop")),
    "persistence": (("persist",), ("persists",), ("persisted",), ("restart",), ("restarts",), ("written",),
                    ("saved",), ("stored",), ("cache", "file"), ("on", "disk"), ("across", "turns")),
    "request": (("sends",), ("sent",), ("request", "body"), ("carries",), ("called", "with"), ("builds",)),
}
_DOC_PATTERNS: dict[str, re.Pattern[str]] = {
    "does-not-raise": re.compile(
        r"\b(should|does|do|must|will|can)\s*(not|n't)\s+(fail|raise|crash|error|throw|blow up)"
        r"|\bwithout\s+(raising|crashing|failing|erroring|(an?\s+|any\s+)?(errors?|exceptions?|warnings?))"
        r"|\bno\s+(error|exception|crash)s?\b|\bnot\s+(fail|raise|crash)\b|\bdoesn't\s+(fail|raise|crash)"
        # "happy being initialised multiple times", "can be called many times": repeating must not raise (not
        # "calling it multiple times updates the params", a claim about the result)
        r"|\b(can|could|may)\s+be\s+\w+\s+(multiple|many|several)\s+times\b|\bbeing\s+\w+\s+(multiple|many|several)\s+times\b"
        # "Smoke-test the conversion": the author says not raising is all it checks
        r"|\bsmoke[- ]?tests?\b"
        # "rather than crashing"; "does not emit a DeprecationWarning" (warnings are errors in such a run)
        r"|\brather\s+than\s+(crash|rais|fail|error)|\b(not|n't|never)\s+(emit|warn|issue)\w*\b(\s+\w+){0,3}\s+\w*warning"
    ),
    # "a pre-release has a non-None pre attribute", "the handle is not None": non-None is the claim (not "any
    # non-None answer passes", which says why a test is weak)
    "existence": re.compile(
        r"\b(is|are)\s+(importable|present|available|exposed|defined|registered)\b"
        r"|\b(has|have|is|are|returns?|gives?)\s+(a\s+|an\s+)?(non-?none|not\s+none)\b"
    ),
    "completion": re.compile(r"\bend(s|ing)?\s+(with|in)\b|message_stop|\[done\]|\bin order\b|\border of\b"),
}
# "Must not crash the server", "does not take the server down": the server is what must survive, and a client
# that raises nothing says nothing about it; only asking the server afterwards does (a liveness claim).
_SERVER_SURVIVES = re.compile(
    r"\b(crash|crashes|crashing|kill|kills|killing|hang|hangs|break|breaks)\s+(the\s+)?(server|service|backend)\b"
    r"|\b(take|takes|taking|bring|brings|bringing|knock|knocks)\s+(the\s+)?(server|service|backend)\s+down\b"
    r"|\b(server|service|backend)\s+(stays|remains|keeps)\s+(up|alive|serving|usable)\b"
)
_WITHIN_TIME = re.compile(r"\bwithin (the |a |an )?(\d\S*|timeout|deadline|budget|seconds?|ms|millis\w*|time|sla)\b")
_SPLIT = re.compile(r"[_\W]+|(?<=[a-z0-9])(?=[A-Z])")


# Several rules split the same name and docstring for each test: split each text once.
@functools.lru_cache(maxsize=8192)
def words(name: str) -> tuple[str, ...]:
    """``test_closeTwice_doesNotRaise`` -> ``('test', 'close', 'twice', 'does', 'not', 'raise')``."""
    return tuple(part.lower().replace("'", "") for part in _SPLIT.split(name) if part)


def _contains(seq: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(seq[i : i + n] == phrase for i in range(len(seq) - n + 1))


#: Each phrase's kinds, and the phrase lengths: a name's few word runs are looked up, not every phrase scanned
#: (this runs for every test the scan finds).
_PHRASE_KINDS: dict[tuple[str, ...], set[str]] = {}
for _kind, _phrases in _NAME_PHRASES.items():
    for _phrase in _phrases:
        _PHRASE_KINDS.setdefault(_phrase, set()).add(_kind)
_PHRASE_LENGTHS = sorted({len(phrase) for phrase in _PHRASE_KINDS})


def static_claims(name: str, docstring: str | None = None) -> frozenset[str]:
    """The claim kinds a test's name and docstring state; ``content`` when they state none of the others."""
    seq = words(name)
    found: set[str] = set()
    for n in _PHRASE_LENGTHS:
        for i in range(len(seq) - n + 1):
            found.update(_PHRASE_KINDS.get(seq[i : i + n], ()))
    if _WITHIN_TIME.search(" ".join(seq)):
        found.add("timing")  # "within 2s", "within the timeout"; not "within the tree", "within the limit"
    text = " ".join(docstring.lower().split()) if docstring else ""
    if text:
        found.update(kind for kind, pattern in _DOC_PATTERNS.items() if pattern.search(text))
    if seq[:2] in (("test", "has"), ("test", "have")):
        found.add("existence")  # `test_has_publish`: the subject has the thing, whatever it does
    if _SERVER_SURVIVES.search(" ".join(seq) + (" . " + text if text else "")):
        found = (found - {"does-not-raise"}) | {"liveness"}
    if "streaming" in found and found & {"liveness", "does-not-raise"}:
        # "still healthy after a burst of streams": the streams are what is done to the system, not the claim
        found -= {"streaming", "completion"}
    if "request" in found and not ({"client", "sdk", "clients"} & set(seq) or _contains(seq, ("request", "body"))
                                   or _contains(seq, ("called", "with"))):
        # "the server sends no CORS headers", "every response carries an id": the server is the subject
        found.discard("request")
    if "request" in found and "does-not-raise" not in found:
        # the other words describe what is sent ("sends_stream_true"), not a second claim about the answer
        found = {"request"}
    return frozenset(found or {"content"})


def comments_of(node: ast.FunctionDef | ast.AsyncFunctionDef, lines: Sequence[str]) -> list[str]:
    """The comments in a test's body, given its module's ``lines``: whole comment lines and trailing ones
    (``registry.unregister("unknown")  # should not raise``), a ``#`` inside a string left out (an even number of
    quotes before it)."""
    found: list[str] = []
    for line in lines[node.lineno : node.end_lineno or node.lineno]:
        stripped = line.strip()
        if stripped.startswith("#"):
            found.append(stripped.lstrip("#"))
        elif "#" in stripped:
            code, _, comment = stripped.partition("  #")
            if comment and code.count('"') % 2 == 0 and code.count("'") % 2 == 0:
                found.append(comment)
    return found


def claims_of(node: ast.FunctionDef | ast.AsyncFunctionDef, lines: Sequence[str] = ()) -> frozenset[str]:
    """:func:`static_claims` of a test's ``def``: its name, its docstring and, given the module's ``lines``, the
    comments of its body (``# just checking that nothing raises`` states the claim as a docstring would)."""
    said = [ast.get_docstring(node) or "", *comments_of(node, lines)]
    return static_claims(node.name, " ".join(said).strip() or None)
