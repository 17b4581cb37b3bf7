"""What every local server refuses (samlocal/loopback.py), as rules on a request's headers."""

import pytest
from samlocal import loopback


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:4566", "localhost", "LOCALHOST:3000", "[::1]", "[::1]:3001"])
def test_a_loopback_name_with_or_without_a_port_is_a_loopback_host(host: str) -> None:
    assert loopback.is_loopback_host(host)


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:3000",
        "localhost.evil.example",
        "127.0.0.1.nip.io",
        "127.0.0.2",
        "0.0.0.0:3000",
        "localhost:",
        "localhost:3000:3000",
        "localhost:port",
        "[::1",
        "[::1]3000",
        "[::ffff:127.0.0.1]",
        "127.0.0.1:3000,evil.example",
        "",
    ],
)
def test_any_other_name_is_not_a_loopback_host(host: str) -> None:
    assert not loopback.is_loopback_host(host)


def test_a_request_with_no_origin_and_a_loopback_host_is_answered() -> None:
    assert loopback.refusal("127.0.0.1:4566", None, None, 4566) is None


def test_a_request_from_the_servers_own_page_is_answered_whichever_loopback_name_it_was_opened_by() -> None:
    origins = ["http://127.0.0.1:3001", "http://localhost:3001", "http://[::1]:3001"]

    assert [loopback.refusal("localhost:3001", origin, "same-origin", 3001) for origin in origins] == [None] * 3


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "http://127.0.0.1:3000", "https://127.0.0.1:3001", "null", "http://127.0.0.1:3001/x"],
)
def test_a_request_from_any_other_origin_is_refused(origin: str) -> None:
    assert loopback.refusal("127.0.0.1:3001", origin, None, 3001) == loopback.FOREIGN_ORIGIN


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_a_request_a_browser_makes_for_another_sites_page_is_refused_even_without_an_origin(site: str) -> None:
    assert loopback.refusal("127.0.0.1:3001", None, site, 3001) == loopback.CROSS_SITE


def test_a_rebinding_host_is_refused_before_anything_else() -> None:
    assert loopback.refusal("evil.example:3001", "http://evil.example:3001", None, 3001) == loopback.NOT_LOOPBACK_HOST


def test_the_token_made_is_the_same_token() -> None:
    assert loopback.same_token("s3cret", "s3cret")


@pytest.mark.parametrize("sent", [None, "", "s3cre", "s3crets", "S3CRET"])
def test_no_other_token_is_the_same(sent: str | None) -> None:
    assert not loopback.same_token(sent, "s3cret")
