"""Rules reported while taking the inventory: tests pytest never collects, and files the scan could not read."""

from __future__ import annotations

from auditor.collect.rules.registry import RuleInfo, register

NOT_COLLECTED = register(
    RuleInfo(
        id="AUD124",
        slug="not-collected",
        severity="high",
        origin="static",
        rationale="pytest never collects this test (name, file name or __init__), so it never runs.",
        bad="class TestApi:\n    def __init__(self):\n        self.url = 'http://127.0.0.1:8000'\n\n"
        "    def test_health(self):\n        assert get(self.url).status_code == 200\n",
        good="class TestApi:\n    url = 'http://127.0.0.1:8000'\n\n"
        "    def test_health(self):\n        assert get(self.url).status_code == 200\n",
    )
)

DUPLICATE_NAME = register(
    RuleInfo(
        id="AUD125",
        slug="duplicate-test-name",
        severity="high",
        origin="static",
        rationale="A second def with the same name replaces the first, which never runs.",
        bad="def test_create():\n    assert create(1) == 1\n\n\ndef test_create():\n    assert create(2) == 2\n",
        good="def test_create_one():\n    assert create(1) == 1\n\n\ndef test_create_two():\n    assert create(2) == 2\n",
    )
)

COLLECTION_DISABLED = register(
    RuleInfo(
        id="AUD126",
        slug="collection-disabled",
        severity="low",
        origin="static",
        rationale="Tests exist but collection is switched off for them (__test__ = False or norecursedirs).",
        bad="__test__ = False\n\n\ndef test_parse():\n    assert parse('1') == 1\n",
        good="def test_parse():\n    assert parse('1') == 1\n",
    )
)

for _id, _slug, _why in (
    ("AUD901", "syntax-error", "The file does not parse, so none of its tests can run."),
    ("AUD902", "not-utf8", "The file is not valid in its encoding, so pytest cannot import it and none of its tests can run."),
    ("AUD903", "huge-file", "The file is too large for the rules: its tests are counted, but not analysed."),
    ("AUD904", "symlink-loop", "A symbolic link points back into its own tree; the loop was not followed."),
    ("AUD905", "unused-suppression", "An `# auditor: ignore[...]` comment silences nothing; remove it."),
    ("AUD906", "invalid-suppression", "An `# auditor: ignore[...]` comment has no reason or names an unknown rule."),
    ("AUD907", "unreadable-path", "A file or folder could not be read; its tests are not in the inventory."),
    ("AUD908", "rule-error", "A rule failed on this test's code (an auditor bug); the other rules still ran."),
):
    register(
        RuleInfo(
            id=_id,
            slug=_slug,
            severity="medium" if _id in ("AUD901", "AUD902", "AUD904", "AUD907") else "low",
            origin="scan",
            rationale=_why,
            bad={
                "AUD901": "def test_x(:\n    assert f() == 1\n",
                "AUD905": "def test_x():  # auditor: ignore[AUD153] no finding here\n    assert f() == 1\n",
                "AUD906": "def test_x():  # auditor: ignore[AUD153]\n    f()\n",
            }.get(_id, ""),
            good={
                "AUD901": "def test_x():\n    assert f() == 1\n",
                "AUD905": "def test_x():\n    assert f() == 1\n",
                "AUD906": "def test_x():  # auditor: ignore[AUD153] f() raising is the check\n    f()\n",
            }.get(_id, ""),
        )
    )
