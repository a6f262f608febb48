"""HTTP status checks: accepted error sets, status-only checks, truthy responses."""

import httpx
import pytest
import requests

ALLOWED = (200, 202, 503)


# expect: AUD101
def test_create_completion_accepts_not_implemented(client):
    response = client.post("/v1/completions", json={"prompt": "hi"})
    assert response.status_code in [200, 400, 501]


# expect: AUD101
def test_delete_user_not_404(client):
    response = client.delete("/users/1")
    assert response.status_code != 404


# expect: AUD101
def test_upload_under_600(client):
    r = client.post("/upload", files={"f": b"data"})
    assert r.status_code < 600
    assert "id" in r.json()


# expect: AUD101
def test_search_any_status_from_constant(client):
    r = client.get("/search", params={"q": "x"})
    assert r.status_code in ALLOWED


# expect: AUD101
def test_stream_either_ok_or_server_error(client):
    r = client.get("/stream")
    assert r.status_code == 200 or r.status_code == 500


# expect: AUD101
def test_embeddings_range(client):
    r = client.post("/v1/embeddings", json={"input": "a"})
    assert r.status_code in range(200, 600)


# expect: AUD101
def test_tokenize_not_in_client_errors(client):
    r = client.post("/tokenize", json={"text": "a"})
    assert r.status_code not in (400, 404, 422)


# expect: AUD102
def test_get_item_maybe_missing(client):
    r = client.get("/items/42")
    assert r.status_code in (200, 404)


# expect: AUD102
def test_patch_below_500(client):
    r = client.patch("/items/1", json={"name": "b"})
    assert r.status_code < 500


# expect: AUD103
def test_bad_payload_rejected_somehow(client):
    r = client.post("/items", json={"name": None})
    assert r.status_code >= 400


# expect: AUD103
def test_invalid_token_is_error(client):
    r = client.get("/me", headers={"Authorization": "Bearer nope"})
    assert r.is_error


# expect: AUD104
def test_list_models(client):
    response = client.get("/v1/models")
    assert response.status_code == 200


# expect: AUD104
def test_chat_completion_inline_status(client):
    assert client.post("/v1/chat/completions", json={"messages": []}).status_code == 200


# expect: AUD104
def test_create_order_created(api_client):
    resp = api_client.post("/orders", json={"sku": "A1", "qty": 2})
    assert resp.status_code == 201


# expect: AUD105
def test_root_truthy(client):
    r = client.get("/")
    assert r


# expect: AUD105
def test_generate_inline_truthy(client):
    assert client.post("/generate", json={"prompt": "x"})


# expect: AUD105
def test_version_not_none(client):
    response = client.get("/version")
    assert response is not None


# expect: AUD105
def test_status_code_truthy(client):
    r = client.get("/metrics")
    assert r.status_code


# expect: AUD136
def test_items_stringified(client):
    r = client.get("/items")
    assert r.status_code == 200
    assert "apple" in str(r.json())


# expect: strong
def test_unimplemented_route_says_501(client):
    response = client.post("/v1/fine-tunes", json={})
    assert response.status_code == 501


# expect: strong
def test_unknown_route_404(client):
    response = client.get("/no/such/route")
    assert response.status_code == 404


# expect: strong
def test_routing_table_answers(client):
    for path in ("/health", "/v1/models", "/metrics"):
        assert client.get(path).status_code == 200


# expect: strong
def test_method_not_allowed_on_models(client):
    assert client.delete("/v1/models").status_code == 405


# expect: strong
def test_requests_response_ok_is_a_real_check(live_url):
    r = requests.get(f"{live_url}/health", timeout=5)
    assert r
    assert r.json() == {"status": "ok"}


# expect: strong
def test_create_item_status_and_body(client):
    r = client.post("/items", json={"name": "pen"})
    assert r.status_code == 201
    assert r.json() == {"id": 1, "name": "pen"}


# expect: strong
def test_validation_error_is_422(client):
    r = client.post("/items", json={"name": 3})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "name"]


# expect: strong
def test_status_in_success_set_with_body(client):
    r = client.put("/items/1", json={"name": "x"})
    assert r.status_code in (200, 201)
    assert r.json()["name"] == "x"


# expect: strong
def test_created_then_fetched(client):
    created = client.post("/items", json={"name": "cup"})
    assert created.status_code == 201
    fetched = client.get(f"/items/{created.json()['id']}")
    assert fetched.json()["name"] == "cup"


# expect: strong
def test_redirects_to_login(client):
    r = client.get("/account", follow_redirects=False)
    assert r.status_code == 307


# expect: strong
def test_headers_checked(client):
    r = client.get("/v1/models")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"


# expect: strong
def test_success_property_with_body(client):
    r = client.get("/v1/models")
    assert r.is_success
    assert [m["id"] for m in r.json()["data"]] == ["tiny"]


# expect: strong
def test_server_error_is_reported_as_503(client, stop_model):
    stop_model()
    r = client.post("/v1/completions", json={"prompt": "x"})
    assert r.status_code == 503
    assert r.json()["error"]["type"] == "model_unavailable"


# expect: strong
def test_httpx_status_stays_below_400_for_static_files(client):
    r = client.get("/static/app.js")
    assert r.status_code < 400
    assert r.text.startswith("export")


# expect: strong
@pytest.mark.parametrize("path", ["/a", "/b"])
def test_mounted_paths_route(client, path):
    assert client.get(path).status_code == 200
