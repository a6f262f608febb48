"""Checks too shallow for the claim: truthiness, a builtin type, alternative texts, an exit status."""

import subprocess
import unittest

from myapp import cli, find_keys, get_machine_id, is_ready, split_template


# expect: AUD138
def test_split_template_parts():
    parts = split_template("a{b}c")
    assert parts


# expect: AUD138
def test_flush_writes_to_storage(storage):
    storage.write({"a": 1})
    storage.flush()
    assert storage.inner.memory


# expect: AUD138
def test_detector_positive(detector):
    pos_results = detector.check_file("planted.py")
    assert pos_results


# expect: strong
def test_ready_after_start(service):
    service.start()
    assert is_ready(service)
    assert service.started


# expect: strong
def test_key_detector_finds_nothing_in_clean_file(tmp_path):
    assert not find_keys(tmp_path / "clean.py")


# expect: AUD139
def test_get_machine_id():
    assert isinstance(get_machine_id(), bytes)


# expect: AUD139
def test_requests_pagination(client):
    r = client.get("/api/requests?limit=5")
    assert r.status_code == 200
    assert isinstance(r.json(), list)


# expect: strong
def test_machine_id_is_bytes():
    assert isinstance(get_machine_id(), bytes)


# expect: strong
def test_output_is_valid_json(tmp_path):
    assert isinstance(split_template("{}"), list)


# expect: AUD140
def test_error_shown_in_table(page):
    text = page.inner_text("table")
    assert "500" in text or "404" in text


# expect: AUD140
def test_listing_shows_sizes(client):
    body = client.get("/").text
    assert "B)" in body or "KB)" in body


# expect: strong
def test_template_syntax_shown_literally(client):
    body = client.get("/").text
    assert "test{{7*7}}.txt" in body or "test{{7*7}}" in body
    assert "test49.txt" not in body


# expect: AUD141
def test_export_csv(runner):
    result = runner.invoke(cli, ["export", "--csv"])
    assert result.exit_code == 0


# expect: AUD141
def test_progress_uses_length_hint():
    proc = subprocess.run(["app", "progress"], capture_output=True)
    assert proc.returncode == 0


# expect: strong
def test_export_csv_output(runner):
    result = runner.invoke(cli, ["export", "--csv"])
    assert result.exit_code == 0
    assert result.output == "id,name\n1,a\n"


# expect: strong
def test_bad_flag_exits_with_code_2(runner):
    result = runner.invoke(cli, ["--nope"])
    assert result.exit_code == 2


class TestDetector(unittest.TestCase):
    # expect: AUD138
    def test_positive(self):
        self.assertTrue(find_keys("sample.py"))

    # expect: strong
    def test_delete_returns_true(self):
        self.assertTrue(self.db.delete_rec(0))
