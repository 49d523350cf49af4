"""The HTTP client's checks: one URL check for the judge and the config, Retry-After."""

from __future__ import annotations

import pytest

from steering.evaluation.judges.endpoint import check_base_url, excerpt, parse_retry_after
from steering.evaluation.judges.http import RetryingClient


def test_check_base_url_strips_the_slash_and_names_what() -> None:
    assert check_base_url("http://127.0.0.1:8000/v1/", "judge.base_url") == (
        "http://127.0.0.1:8000/v1"
    )
    assert check_base_url("https://api.openai.com/v1", "x") == "https://api.openai.com/v1"
    for bad in (None, "localhost:8000/v1", "ftp://h/v1", "http://h:port/v1", "http://h/v1#f"):
        with pytest.raises(ValueError, match=r"^judge\.base_url=") as info:
            check_base_url(bad, "judge.base_url")
        assert repr(bad) in str(info.value)
    with pytest.raises(ValueError, match="embeds credentials") as info:
        check_base_url("http://me:hunter2@h/v1", "judge.base_url")
    assert "hunter2" not in str(info.value)


def test_retry_after_and_excerpt() -> None:
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("2.5") == 2.5 and parse_retry_after("-3") == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert excerpt("  short ") == "'short'"
    assert excerpt("x" * 400).endswith("... (400 chars)")


def test_client_refuses_bad_numbers_and_hides_the_key(monkeypatch) -> None:
    monkeypatch.setenv("HTTP_TEST_KEY", "sk-secret")
    client = RetryingClient("http://h/v1/x", api_key_env="HTTP_TEST_KEY")
    assert "sk-secret" not in repr(client) and "sk-secret" not in repr(vars(client))
    with pytest.raises(ValueError, match="timeout"):
        RetryingClient("http://h/v1/x", timeout=0)
    with pytest.raises(ValueError, match="max_retries"):
        RetryingClient("http://h/v1/x", max_retries=-1)
