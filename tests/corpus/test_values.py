"""What is compared: self-written values, constant fixtures, negative-only, existence-only, stringified."""

from unittest import mock

import pytest

from myapp import edit_at_prompt, greet, load_settings, summarize


@pytest.fixture
def user():
    return {"name": "ada", "role": "admin"}


@pytest.fixture
def settings_file(tmp_path):
    path = tmp_path / "settings.toml"
    path.write_text("debug = true\n")
    return path


# expect: AUD117
def test_dict_literal_roundtrip():
    config = {"debug": True, "port": 8000}
    assert config["port"] == 8000


# expect: AUD117
def test_mock_return_value_echoed():
    client = mock.Mock()
    client.get.return_value = 200
    assert client.get("/health") == 200


# expect: AUD117
def test_mock_constructor_return_value():
    fetch = mock.Mock(return_value={"ok": True})
    assert fetch() == {"ok": True}


# expect: AUD117
def test_file_written_and_read_back(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("hello")
    assert path.read_text() == "hello"


# expect: AUD118
def test_user_fixture_name(user):
    assert user["name"] == "ada"


# expect: AUD118
def test_user_fixture_role(user):
    assert user["role"] == "admin"
    assert len(user) == 2


# expect: AUD119
def test_reply_has_no_error(client):
    r = client.post("/chat", json={"q": "hi"})
    assert "error" not in r.text


# expect: AUD119
def test_summary_not_empty_string():
    text = summarize("long text " * 20)
    assert text != ""


# expect: AUD137
def test_list_models(client):
    data = client.get("/v1/models").json()
    assert data is not None
    assert len(data["data"]) > 0


# expect: AUD137
def test_completion_returns_json(client):
    r = client.post("/v1/completions", json={"prompt": "x"})
    assert r.json()


# expect: AUD137
def test_summary_is_not_none():
    assert summarize("abc") is not None


# expect: strong
def test_greeting_uses_fixture(user):
    assert greet(user) == "Hello, ada"


# expect: strong
def test_settings_loaded_from_file(settings_file):
    assert load_settings(settings_file)["debug"] is True


# expect: strong
def test_negative_plus_positive(client):
    r = client.post("/chat", json={"q": "hi"})
    assert "error" not in r.text
    assert r.json()["answer"] == "hello"


# expect: strong
def test_not_none_then_value():
    result = summarize("abc")
    assert result is not None
    assert result.words == 1


# expect: strong
def test_mock_records_what_code_sent():
    client = mock.Mock()
    client.get.return_value.status_code = 200
    assert greet_remote(client, "ada") == "Hello, ada"
    client.get.assert_called_once_with("/users/ada")


# expect: strong
def test_unique_ids_differ(make_id):
    assert make_id() != make_id()


# expect: strong
def test_payload_sent_is_returned(client):
    payload = {"name": "ada"}
    r = client.post("/echo", json=payload)
    assert r.json() == payload


# expect: strong
def test_secret_not_leaked_in_repr(make_token):
    token = make_token("s3cr3t")
    assert "s3cr3t" not in repr(token)
    assert repr(token) == "Token(***)"


# expect: strong
def test_error_message_substring():
    with pytest.raises(ValueError) as excinfo:
        summarize("")
    assert "empty" in str(excinfo.value)


# expect: AUD149
def test_edit_adds_record():
    db = mock.Mock()
    edit_at_prompt(db, "w")
    db.add_rec("http://a", "title")


# expect: strong
def test_edit_adds_record_asserted():
    db = mock.Mock()
    edit_at_prompt(db, "w")
    db.add_rec.assert_called_once_with("http://a", "title")
