"""Tests pytest never collects: names, __init__ constructors, duplicates, disabled classes."""

from myapp import create, parse


def check_login_works(client):
    assert client.post("/login", json={"u": "ada"}).json() == {"ok": True}


# expect: AUD124
def check_logout_works(client):
    assert client.post("/logout").json() == {"ok": True}


# expect: AUD124
def parse_sum_test():
    assert parse("1 + 1") == 2


# expect: AUD124
def _test_disabled_by_underscore():
    assert parse("2") == 2


class TestWithInit:
    def __init__(self):
        self.base = "http://127.0.0.1:8000"

    # expect: AUD124
    def test_health_from_class(self):
        assert get(self.base + "/health").json() == {"ok": True}


# expect: AUD125
def test_create_item():
    assert create("a") == {"name": "a"}


# expect: strong
def test_create_item():  # noqa: F811 - the shadowing def is the one that runs
    assert create("b") == {"name": "b"}


class TestDisabledBase:
    __test__ = False

    # expect: AUD126
    def test_inherited_check(self):
        assert self.make().ready is True


class TestRealSubclass(TestDisabledBase):
    __test__ = True

    def make(self):
        return create("c")


# expect: strong
def test_uses_helper_defined_above(client):
    check_login_works(client)


class TestPlain:
    # expect: strong
    def test_method(self):
        assert parse("7") == 7

    def helper_not_a_test(self):
        return parse("8")

    # expect: strong
    def test_uses_method_helper(self):
        assert self.helper_not_a_test() == 8
