"""JSON report: versioned, round-trips, matches its gold file, and docs/schema.md names every key."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from goldtest import compare
from review_audit import review_audit

from auditor import model
from auditor.report.base import RenderContext
from auditor.report.registry import render_to
from auditor.report.jsonreport import JsonReporter
from auditor.serialize import audit_from_dict

REVIEW = review_audit(with_scores=True)
SCHEMA_DOC = Path(__file__).parent.parent / "docs" / "schema.md"


def test_json_matches_gold_and_round_trips() -> None:
    text = JsonReporter().render(REVIEW, RenderContext())
    compare(text, "review.json")
    data = json.loads(text)
    assert next(iter(data)) == "format" and data["format"] == model.FORMAT_VERSION
    assert audit_from_dict(data) == REVIEW


def test_written_atomically_without_leftovers(tmp_path: Path) -> None:
    (path,) = render_to(REVIEW, ["json"], tmp_path)
    assert path == tmp_path / "audit.json"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit.json"]


def _keys(cls: type, prefix: str, seen: set[type]) -> set[str]:
    import typing

    keys = set()
    hints = typing.get_type_hints(cls, vars(model))
    for field in dataclasses.fields(cls):
        keys.add(f"{prefix}{field.name}")
        inner = [a for a in typing.get_args(hints[field.name]) if dataclasses.is_dataclass(a)] or ([hints[field.name]] if dataclasses.is_dataclass(hints[field.name]) else [])
        for sub in inner:
            if sub not in seen:
                keys |= _keys(sub, f"{sub.__name__}.", seen | {sub})
    return keys


def test_schema_doc_documents_every_key() -> None:
    doc = SCHEMA_DOC.read_text(encoding="utf-8")
    missing = sorted(key for key in _keys(model.Audit, "Audit.", {model.Audit}) if f"`{key}`" not in doc)
    assert missing == []


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path: Path) -> None:
    import pytest

    from auditor.files import write_atomic

    target = write_atomic(tmp_path / "report.md", "old\n")
    with pytest.raises(UnicodeEncodeError):
        write_atomic(target, "new \udcff text")  # a lone surrogate cannot be encoded as UTF-8
    assert target.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]
