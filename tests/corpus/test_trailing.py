"""The test acts after its last check, waits for the effect, and ends without looking at it."""

import time

from myapp import spinner


# expect: AUD146
def test_theme_toggle(page):
    button = page.locator("#theme")
    assert button.is_visible()
    button.click()
    page.wait_for_timeout(500)


# expect: AUD146
def test_spinner_writes_to_stream(stream):
    sp = spinner(stream=stream)
    assert sp.stream is stream
    with sp:
        time.sleep(0.01)


# expect: strong
def test_theme_toggle_applies_dark_mode(page):
    button = page.locator("#theme")
    button.click()
    page.wait_for_timeout(500)
    assert "dark" in page.locator("html").get_attribute("class")


# expect: strong
def test_server_answers(server, client):
    assert client.get("/health").json() == {"ok": True}
    server.stop()
    server.wait()
