"""A test that computes its answer itself: the code under test never runs."""

import os

from myapp import parse_destinations, settings


# expect: AUD142
def test_destination_traversal_rejected(tmp_path):
    settings.ALLOWED = {}
    for arg in ["img=img", "evil=../../etc"]:
        key, rel = arg.split("=", 1)
        if os.path.normpath(rel).startswith(".."):
            continue
        settings.ALLOWED[key] = os.path.join(tmp_path, rel)
    assert "evil" not in settings.ALLOWED


# expect: AUD142
def test_multiple_destinations(upload_root):
    found = {}
    for arg in ["images=img", "docs=documents"]:
        key, rel = arg.split("=", 1)
        found[key] = os.path.join(upload_root, os.path.normpath(rel))
    assert found["images"] == os.path.join(upload_root, "img")


# expect: strong
def test_destination_traversal_parsed(tmp_path):
    allowed = parse_destinations(["img=img", "evil=../../etc"], root=tmp_path)
    assert "evil" not in allowed


# expect: strong
def test_settings_expose_every_public_name(app_settings):
    names = [name for name in dir(app_settings) if not name.startswith("_")]
    assert sorted(names) == ["debug", "root"]
