"""Tests for OpenAIJudge against a real local HTTP server speaking chat-completions."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator

import pytest

from steering.evaluation.judges.base import JudgeError, Rubric, rubric_instruction, rubric_messages
from steering.evaluation.judges.openai import OpenAIJudge
from tests.helpers.openai_stub_server import (
    StubServer,
    answer,
    error,
    hang,
    malformed_json,
    running_stub,
    success,
    trickle,
    without_logprobs,
)

KEY = "sk-test-SECRET-0123456789"
RUBRIC = Rubric(kind="concept", concept="animal", description="animals", version=1)


@pytest.fixture
def stub() -> Iterator[StubServer]:
    with running_stub() as server:
        yield server


def make_judge(stub: StubServer, **kwargs: object) -> OpenAIJudge:
    options: dict[str, object] = {
        "timeout": 2.0,
        "max_concurrency": 1,
        "max_retries": 2,
        "backoff": 0.001,
        "max_backoff": 0.05,
    }
    options.update(kwargs)
    return OpenAIJudge(stub.base_url, "stub-model", **options)  # type: ignore[arg-type]


def test_logprob_expected_score_hand_computed(stub: StubServer) -> None:
    # p(3) = 0.5, p(6) = 0.25, p("x") = 0.25 -> renormalised over digits: 2/3 and 1/3.
    # Expected raw = 3 * 2/3 + 6 * 1/3 = 4, mapped to 4 * 10 / 9.
    top = (("3", math.log(0.5)), ("6", math.log(0.25)), ("x", math.log(0.25)))
    stub.script(answer("3", top))
    assert make_judge(stub).score(["anything"], RUBRIC) == [pytest.approx(40 / 9, abs=1e-12)]


def test_logprob_merges_space_prefixed_digit_tokens(stub: StubServer) -> None:
    # "7" and " 7" are the same digit: p(7) = 0.25 + 0.25, p(1) = 0.5 -> raw 4 -> 40/9.
    top = (("7", math.log(0.25)), (" 7", math.log(0.25)), ("1", math.log(0.5)))
    stub.script(answer("7", top))
    assert make_judge(stub).score(["t"], RUBRIC) == [pytest.approx(40 / 9, abs=1e-12)]


def test_default_rule_scores_follow_text_and_preserve_order(stub: StubServer) -> None:
    texts = ["animal " * 3, "nothing here", "animal"]
    scores = make_judge(stub, max_concurrency=3).score(texts, RUBRIC)

    def expected(digit: int, other: int) -> float:
        p, q = math.exp(-0.1), math.exp(-2.5)
        return (digit * p + other * q) / (p + q) * 10 / 9

    assert scores == [
        pytest.approx(expected(3, 2)),
        pytest.approx(expected(0, 1)),
        pytest.approx(expected(1, 0)),
    ]


def test_request_layout_model_and_auth_header(
    stub: StubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STUB_JUDGE_KEY", KEY)
    rubric = Rubric(
        kind="concept",
        concept="animal",
        description="animals",
        version=2,
        shots=(("a cat sat", 8), ("a tax form", 0)),
    )
    make_judge(stub, api_key_env="STUB_JUDGE_KEY").score(["the dog barked"], rubric)

    (request,) = stub.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    body = request.body
    assert body["model"] == "stub-model"
    assert body["max_tokens"] == 1
    assert body["temperature"] == 0
    assert body["logprobs"] is True
    assert body["top_logprobs"] == 20
    assert [m["role"] for m in body["messages"]] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]
    assert body["messages"] == rubric_messages(rubric, "the dog barked")
    assert body["messages"][0]["content"].startswith(
        "Rate from 0 to 9 how much each text is about animals."
    )
    assert body["messages"][2]["content"] == "8"
    assert "the dog barked" in body["messages"][-1]["content"]


def test_no_auth_header_without_key(stub: StubServer) -> None:
    make_judge(stub).score(["x"], RUBRIC)
    assert "Authorization" not in stub.requests[0].headers


def test_bipolar_instruction_and_validation() -> None:
    rubric = Rubric(
        kind="bipolar", concept="animal", description="", version=1, opposite="machines"
    )
    assert rubric_instruction(rubric).startswith(
        "Rate from 0 to 9 where 0 means the text is entirely about machines, 9 means entirely "
        "about animal, and 4 or 5 means neither."
    )
    with pytest.raises(ValueError, match="opposite"):
        Rubric(kind="bipolar", concept="animal", description="0 = machines", version=1)
    with pytest.raises(ValueError, match="'nonsense'"):
        Rubric(kind="nonsense", concept="animal", description="animals", version=1)
    with pytest.raises(ValueError, match="0-9"):
        Rubric(kind="concept", concept="a", description="a", version=1, shots=(("t", 10),))


def test_parsed_digit_fallback_without_logprobs(stub: StubServer) -> None:
    stub.script(without_logprobs("6"))
    assert make_judge(stub).score(["t"], RUBRIC) == [pytest.approx(60 / 9)]


def test_parsed_digit_fallback_when_no_digit_in_top_logprobs(stub: StubServer) -> None:
    stub.script(answer(" 5", (("Five", -0.1), ("The", -1.0))))
    assert make_judge(stub).score(["t"], RUBRIC) == [pytest.approx(50 / 9)]
    assert stub.request_count == 1


def test_429_then_500_then_success(stub: StubServer) -> None:
    stub.script(error(429, retry_after="0"), error(500), answer("9", (("9", 0.0),)))
    assert make_judge(stub).score(["t"], RUBRIC) == [pytest.approx(10.0)]
    assert stub.request_count == 3


def test_retry_after_is_honoured(stub: StubServer) -> None:
    stub.script(error(429, retry_after="0.3"), success())
    start = time.monotonic()
    make_judge(stub, max_backoff=5.0).score(["t"], RUBRIC)
    assert time.monotonic() - start >= 0.3
    assert stub.request_count == 2


def test_retry_after_is_capped(stub: StubServer) -> None:
    stub.script(error(503, retry_after="100"), success())
    start = time.monotonic()
    make_judge(stub, max_backoff=0.05).score(["t"], RUBRIC)
    assert time.monotonic() - start < 2.0


def test_timeout_then_success(stub: StubServer) -> None:
    stub.script(hang(1.5), answer("2", (("2", 0.0),)))
    start = time.monotonic()
    assert make_judge(stub, timeout=0.2).score(["t"], RUBRIC) == [pytest.approx(20 / 9)]
    assert stub.request_count == 2
    assert time.monotonic() - start < 1.5


def test_persistent_500_raises_judge_error_naming_endpoint(stub: StubServer) -> None:
    stub.set_default(error(500, body="overloaded"))
    with pytest.raises(JudgeError) as info:
        make_judge(stub, max_retries=2).score(["t"], RUBRIC)
    message = str(info.value)
    assert f"judge endpoint {stub.base_url}/chat/completions failed after 3 tries" in message
    assert "HTTP 500" in message and "overloaded" in message
    assert stub.request_count == 3


def test_malformed_answers_are_retried_then_succeed(stub: StubServer) -> None:
    stub.script(malformed_json(), answer("maybe", (("maybe", -0.1),)), answer("4", (("4", 0.0),)))
    assert make_judge(stub).score(["t"], RUBRIC) == [pytest.approx(40 / 9)]
    assert stub.request_count == 3


def test_malformed_answers_fail_after_retries(stub: StubServer) -> None:
    stub.set_default(answer("maybe", (("maybe", -0.1),)))
    with pytest.raises(JudgeError, match="failed after 3 tries.*not a single digit 0-9.*maybe"):
        make_judge(stub).score(["t"], RUBRIC)
    assert stub.request_count == 3


def test_malformed_json_fails_after_retries(stub: StubServer) -> None:
    stub.set_default(malformed_json())
    with pytest.raises(JudgeError, match="malformed JSON.*this is not json"):
        make_judge(stub, max_retries=1).score(["t"], RUBRIC)
    assert stub.request_count == 2


def test_client_error_fails_at_once(stub: StubServer) -> None:
    stub.set_default(error(400, body='{"error": "bad model name"}'))
    with pytest.raises(JudgeError, match="HTTP 400.*bad model name"):
        make_judge(stub, max_retries=5).score(["t"], RUBRIC)
    assert stub.request_count == 1


def test_connection_refused_is_retried_then_fails() -> None:
    with running_stub() as server:
        base_url = server.base_url
    judge = OpenAIJudge(base_url, "m", max_retries=1, backoff=0.001, timeout=1.0)
    with pytest.raises(JudgeError, match=f"judge endpoint {base_url}.*after 2 tries.*connection"):
        judge.score(["t"], RUBRIC)


def test_concurrency_bound_is_respected(stub: StubServer) -> None:
    stub.set_default(success(delay=0.05))
    texts = [f"{'animal ' * (i % 10)}text {i}" for i in range(12)]
    scores = make_judge(stub, max_concurrency=3).score(texts, RUBRIC)
    assert stub.request_count == 12
    assert 2 <= stub.max_in_flight <= 3
    # Order preserved: the rule digit (i % 10) dominates the expected score.
    assert [round(s * 9 / 10) for s in scores] == [i % 10 for i in range(12)]


def test_iter_scores_yields_finished_results_before_failing(stub: StubServer) -> None:
    stub.script(success(), success(), error(400))
    judge = make_judge(stub)
    seen: list[int] = []
    with pytest.raises(JudgeError, match="HTTP 400"):
        for index, _ in judge.iter_scores(["a", "b", "c", "d"], RUBRIC):
            seen.append(index)
    assert seen == [0, 1]
    assert stub.request_count == 3


def test_empty_input_makes_no_requests(stub: StubServer) -> None:
    assert make_judge(stub).score([], RUBRIC) == []
    assert stub.request_count == 0


@pytest.mark.parametrize(
    "url", ["ftp://host/v1", "127.0.0.1:8000/v1", "http://", "not a url", "http://h/v1?x=1"]
)
def test_malformed_url_raises_value_error_naming_it(url: str) -> None:
    with pytest.raises(ValueError) as info:
        OpenAIJudge(url, "m")
    assert repr(url) in str(info.value)


def test_url_with_credentials_is_rejected_without_echoing_them() -> None:
    with pytest.raises(ValueError, match="credentials") as info:
        OpenAIJudge("http://user:hunter2@127.0.0.1:8000/v1", "m")
    assert "hunter2" not in str(info.value)


def test_unset_key_env_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STUB_JUDGE_MISSING_KEY", raising=False)
    with pytest.raises(ValueError, match="STUB_JUDGE_MISSING_KEY"):
        OpenAIJudge("http://127.0.0.1:1/v1", "m", api_key_env="STUB_JUDGE_MISSING_KEY")


def test_key_passed_as_env_name_is_not_echoed() -> None:
    with pytest.raises(ValueError, match="NAME of an environment variable") as info:
        OpenAIJudge("http://127.0.0.1:1/v1", "m", api_key_env=KEY)
    assert KEY not in str(info.value)


def test_key_never_in_id_repr_or_errors(stub: StubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUB_JUDGE_KEY", KEY)
    judge = make_judge(stub, api_key_env="STUB_JUDGE_KEY")
    assert KEY not in judge.judge_id
    assert KEY not in repr(judge)
    assert KEY not in repr(vars(judge))
    stub.set_default(error(401, body=f'{{"error": "Incorrect API key provided: {KEY}"}}'))
    with pytest.raises(JudgeError) as info:
        judge.score(["t"], RUBRIC)
    assert "HTTP 401" in str(info.value)
    assert "STUB_JUDGE_KEY" in str(info.value)
    assert KEY not in str(info.value)
    stub.set_default(error(500, body=f"upstream saw {KEY}"))
    with pytest.raises(JudgeError) as info:
        judge.score(["t"], RUBRIC)
    assert KEY not in str(info.value)
    assert stub.requests[-1].headers["Authorization"] == f"Bearer {KEY}"


def test_judge_id_is_stable_and_names_model(stub: StubServer) -> None:
    first = make_judge(stub)
    second = OpenAIJudge("http://10.0.0.1:9999/v1/", "stub-model")
    assert first.judge_id == second.judge_id
    assert "stub-model" in first.judge_id


@pytest.mark.parametrize(
    ("name", "value"),
    [("timeout", 0), ("max_concurrency", 0), ("max_retries", -1), ("backoff", -1.0)],
)
def test_bad_numbers_are_rejected(name: str, value: float) -> None:
    with pytest.raises(ValueError, match=name):
        OpenAIJudge("http://127.0.0.1:1/v1", "m", **{name: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["12", "-1", "7.5", "ten", "10", "Score: 7"])
def test_answer_outside_0_9_is_malformed_and_retried(stub: StubServer, bad: str) -> None:
    stub.script(answer(bad), answer("4", (("4", 0.0),)))
    assert make_judge(stub).score(["t"], RUBRIC) == [pytest.approx(40 / 9)]
    assert stub.request_count == 2


@pytest.mark.parametrize("bad", ["12", "-1", "7.5", "ten"])
def test_answer_outside_0_9_fails_after_retries(stub: StubServer, bad: str) -> None:
    stub.set_default(without_logprobs(bad))
    with pytest.raises(JudgeError, match=f"after 3 tries.*not a single digit 0-9.*{bad}"):
        make_judge(stub).score(["t"], RUBRIC)
    assert stub.request_count == 3


def _bounded(call, seconds: float):  # type: ignore[no-untyped-def]
    """Run ``call`` in a thread; fail the test if it has not finished within ``seconds``."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    start = time.monotonic()
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds}s: the deadline is not enforced"
    return outcome, time.monotonic() - start


def test_trickling_server_fails_within_the_timeout_and_is_retried(stub: StubServer) -> None:
    # One byte per 0.2 s: every read succeeds well within a 1 s socket timeout, so only an
    # overall deadline stops it (the answer would take ~40 s to arrive).
    stub.script(trickle(0.2), answer("2", (("2", 0.0),)))
    outcome, elapsed = _bounded(lambda: make_judge(stub, timeout=1.0).score(["t"], RUBRIC), 10)
    assert outcome == {"value": [pytest.approx(20 / 9)]}
    assert stub.request_count == 2
    assert elapsed < 3.0


def test_persistent_trickle_raises_timeout_error(stub: StubServer) -> None:
    stub.set_default(trickle(0.2))
    outcome, elapsed = _bounded(
        lambda: make_judge(stub, timeout=1.0, max_retries=1).score(["t"], RUBRIC), 10
    )
    error = outcome.get("error")
    assert isinstance(error, JudgeError), outcome
    assert "after 2 tries" in str(error) and "timeout=1s" in str(error)
    assert stub.request_count == 2
    assert elapsed < 4.0
