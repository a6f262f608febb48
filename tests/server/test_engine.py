"""Engine tests on the real fixture model: exact answers, stops, limits, cancellation, batching, admission."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from server.engine import (
    Engine,
    EngineError,
    EngineOverloaded,
    Finished,
    GenerationRequest,
    PromptTooLong,
    TextDelta,
)
from server.fixture import MODEL_DIR
from server.fixture.facts import (
    FACTS,
    SYSTEM_FACTS,
    SYSTEM_PROMPT,
    UNKNOWN_ANSWER,
    fact_answer,
)

MiB = 1 << 20
COUNT_QUESTION = "Count from 1 to 20."
STORY_QUESTION = "Tell me a short story."


def make_engine(**overrides: object) -> Engine:
    """A started engine on the fixture model, no disk cache unless asked."""
    options: dict = {
        "cache_dir": None,
        "cache_max_bytes": 64 * MiB,
        "cache_disk_max_bytes": 64 * MiB,
    }
    options.update(overrides)
    engine = Engine(str(MODEL_DIR), **options)
    engine.start()
    return engine


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    engine = make_engine()
    yield engine
    engine.shutdown(timeout=10)


def request_for(
    engine: Engine, question: str, system: str | None = None, **options: object
) -> GenerationRequest:
    """A request asking one question, greedy unless options say otherwise."""
    tokens = engine.encode_chat([{"role": "user", "content": question}], system)
    options.setdefault("max_tokens", 200)
    return GenerationRequest(prompt_tokens=tokens, **options)


async def collect(
    engine: Engine, request: GenerationRequest
) -> tuple[list[str], Finished]:
    """Every delta's text and the final event of one generation."""
    deltas: list[str] = []
    finished: Finished | None = None
    async for event in engine.generate(request):
        assert finished is None, "an event arrived after Finished"
        if isinstance(event, TextDelta):
            deltas.append(event.text)
        else:
            finished = event
    assert isinstance(finished, Finished)
    return deltas, finished


def ask(
    engine: Engine, question: str, system: str | None = None, **options: object
) -> tuple[str, Finished]:
    """Run one question to completion and return (text, Finished)."""
    deltas, finished = asyncio.run(
        collect(engine, request_for(engine, question, system, **options))
    )
    return "".join(deltas), finished


def wait_until_idle(engine: Engine, timeout: float = 10.0) -> None:
    """Poll until the engine reports no active and no queued requests."""
    deadline = time.monotonic() + timeout
    while engine.active or engine.queued:
        assert time.monotonic() < deadline, (
            f"engine still busy: active={engine.active} queued={engine.queued}"
        )
        time.sleep(0.005)


FACT_SAMPLE = [f for f in FACTS if f.kind in {"capital", "sum", "say"}][::5] + [
    f for f in FACTS if f.kind == "long"
]


@pytest.mark.parametrize("fact", FACT_SAMPLE, ids=lambda f: f.question)
def test_fact_is_answered_exactly_and_stops_on_eos(engine: Engine, fact) -> None:
    text, finished = ask(engine, fact.question)
    assert text == fact.answer
    assert finished.reason == "stop"
    assert finished.stop_sequence is None
    assert finished.prompt_tokens == len(
        engine.encode_chat([{"role": "user", "content": fact.question}], None)
    )
    # Anonymous requests may reuse a shared prefix (the chat header) but never the whole prompt.
    assert 0 <= finished.cached_tokens < finished.prompt_tokens
    assert finished.cache_write_tokens == 0


@pytest.mark.parametrize("fact", SYSTEM_FACTS, ids=lambda f: f.question)
def test_system_prompt_reaches_the_model(engine: Engine, fact) -> None:
    with_system, _ = ask(engine, fact.question, SYSTEM_PROMPT)
    without_system, _ = ask(engine, fact.question)
    assert with_system == fact.answer
    assert without_system == UNKNOWN_ANSWER


def test_non_ascii_answer_arrives_whole(engine: Engine) -> None:
    deltas, finished = asyncio.run(
        collect(engine, request_for(engine, "What is the capital of Iceland?"))
    )
    assert "".join(deltas) == "Reykjavík."
    assert all("\ufffd" not in delta for delta in deltas)
    assert finished.reason == "stop"


def test_long_answer_streams_in_many_deltas(engine: Engine) -> None:
    deltas, finished = asyncio.run(collect(engine, request_for(engine, STORY_QUESTION)))
    assert "".join(deltas) == fact_answer(STORY_QUESTION)
    assert len(deltas) > 20
    assert all(deltas)
    # Every delta carries at least one token, and the EOS token is counted but never shown.
    assert finished.completion_tokens >= len(deltas) + 1


def test_max_tokens_cuts_the_answer_with_reason_length(engine: Engine) -> None:
    text, finished = ask(engine, COUNT_QUESTION, max_tokens=5)
    full = fact_answer(COUNT_QUESTION)
    assert finished.reason == "length"
    assert finished.completion_tokens == 5
    assert full.startswith(text)
    assert 0 < len(text) < len(full)


def test_stop_sequence_excludes_the_match(engine: Engine) -> None:
    deltas, finished = asyncio.run(
        collect(engine, request_for(engine, COUNT_QUESTION, stop_sequences=(", 4",)))
    )
    assert "".join(deltas) == "1, 2, 3"
    assert finished.reason == "stop_sequence"
    assert finished.stop_sequence == ", 4"


def test_earliest_of_several_stop_sequences_wins(engine: Engine) -> None:
    text, finished = ask(engine, COUNT_QUESTION, stop_sequences=("9", "5, 6", "3,"))
    assert text == "1, 2, "
    assert finished.stop_sequence == "3,"


def test_held_back_partial_match_is_released_when_it_does_not_complete(
    engine: Engine,
) -> None:
    # "1, 2, 9" shares the prefix "1, 2, " with the answer: that text is held back, then released.
    text, finished = ask(engine, COUNT_QUESTION, stop_sequences=("1, 2, 9", "20.!"))
    assert text == fact_answer(COUNT_QUESTION)
    assert finished.reason == "stop"
    assert finished.stop_sequence is None


def test_prompt_too_long_is_raised_before_any_event(engine: Engine) -> None:
    request = GenerationRequest(
        prompt_tokens=(1,) * (engine.context_length - 10), max_tokens=11
    )

    async def first_event() -> object:
        return await anext(engine.generate(request))

    with pytest.raises(PromptTooLong) as raised:
        asyncio.run(first_event())
    assert raised.value.prompt_tokens == engine.context_length - 10
    assert raised.value.max_tokens == 11
    assert raised.value.context_length == engine.context_length
    wait_until_idle(engine)


def test_cancelling_during_prefill_frees_the_slot_before_any_token(
    engine: Engine,
) -> None:
    # ~1900 prompt tokens take far longer to prefill than it takes us to see the request admitted.
    long_prompt = tuple(range(3, 1000)) * 2
    request = GenerationRequest(
        prompt_tokens=long_prompt[: engine.context_length - 8], max_tokens=4
    )
    cancelled_before = engine.stats["jobs_cancelled"]
    received: list[object] = []

    async def start_then_cancel() -> None:
        async def consume() -> None:
            async for event in engine.generate(request):
                received.append(event)

        task = asyncio.create_task(consume())
        deadline = time.monotonic() + 10
        while engine.active == 0:
            assert time.monotonic() < deadline, "the request was never admitted"
            await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(start_then_cancel())
    wait_until_idle(engine)
    assert received == []
    assert engine.stats["jobs_cancelled"] == cancelled_before + 1
    text, finished = ask(engine, "Say OK")
    assert (text, finished.reason) == ("OK", "stop")


def test_closing_streams_after_the_first_delta_cancels_them(engine: Engine) -> None:
    # Near-uniform sampling rarely emits EOS, so these would run for 1500 tokens unless cancelled.
    cancelled_before = engine.stats["jobs_cancelled"]

    async def read_one_then_close() -> object:
        stream = engine.generate(
            request_for(engine, STORY_QUESTION, temperature=1e4, max_tokens=1500)
        )
        # Usually a TextDelta; with odds of 1 in 1024 the first sampled token is EOS (Finished).
        first = await anext(stream)
        await stream.aclose()
        return first

    async def run_all() -> list[object]:
        return await asyncio.gather(*(read_one_then_close() for _ in range(16)))

    firsts = asyncio.run(run_all())
    assert len(firsts) == 16
    wait_until_idle(engine)
    # A stream can still hit EOS between its first delta and the close (~5% each): most cannot.
    assert engine.stats["jobs_cancelled"] >= cancelled_before + 8
    text, finished = ask(engine, "Say OK")
    assert (text, finished.reason) == ("OK", "stop")


def test_sixteen_concurrent_requests_share_forward_passes() -> None:
    engine = make_engine(max_batch=64)
    try:
        facts = [f for f in FACTS if f.kind != "long"][:16]

        async def run_all() -> list[tuple[list[str], Finished]]:
            return await asyncio.gather(
                *(collect(engine, request_for(engine, f.question)) for f in facts)
            )

        results = asyncio.run(run_all())
        assert ["".join(deltas) for deltas, _ in results] == [f.answer for f in facts]
        assert all(finished.reason == "stop" for _, finished in results)
        assert engine.stats["max_decode_batch"] > 1
        wait_until_idle(engine)
    finally:
        engine.shutdown(timeout=10)


def test_full_admission_queue_rejects_with_retry_after() -> None:
    engine = make_engine(max_batch=1, max_queue=1)
    try:
        attempts = 20

        async def run_all() -> list[object]:
            async def one() -> object:
                try:
                    return await collect(engine, request_for(engine, STORY_QUESTION))
                except EngineOverloaded as overloaded:
                    return overloaded

            return await asyncio.gather(*(one() for _ in range(attempts)))

        outcomes = asyncio.run(run_all())
        rejected = [o for o in outcomes if isinstance(o, EngineOverloaded)]
        served = [o for o in outcomes if not isinstance(o, EngineOverloaded)]
        assert len(rejected) + len(served) == attempts
        assert len(rejected) >= 1
        # The first request always gets a slot; the queue holds one more at most.
        assert len(served) >= 1
        assert all(r.retry_after > 0 for r in rejected)
        assert {"".join(deltas) for deltas, _ in served} == {
            fact_answer(STORY_QUESTION)
        }
        wait_until_idle(engine)
    finally:
        engine.shutdown(timeout=10)


@pytest.mark.parametrize(
    "options",
    [{"temperature": 1.5, "top_k": 1}, {"temperature": 1.5, "top_p": 1e-6}],
    ids=["top_k", "top_p"],
)
def test_sampling_filters_that_keep_one_token_match_greedy(
    engine: Engine, options: dict
) -> None:
    text, finished = ask(engine, "What is the capital of Brazil?", **options)
    assert text == "Brasília."
    assert finished.reason == "stop"


def test_shutdown_lets_in_flight_requests_finish_then_refuses_new_ones() -> None:
    engine = make_engine()
    questions = [STORY_QUESTION, COUNT_QUESTION, "Recite the alphabet."] * 3

    async def run() -> list[tuple[list[str], Finished]]:
        tasks = [
            asyncio.create_task(collect(engine, request_for(engine, q)))
            for q in questions
        ]
        deadline = time.monotonic() + 10
        while engine.active == 0:
            assert time.monotonic() < deadline, "nothing was admitted"
            await asyncio.sleep(0.001)
        await asyncio.get_running_loop().run_in_executor(None, engine.shutdown, 30.0)
        return await asyncio.gather(*tasks)

    results = asyncio.run(run())
    assert ["".join(deltas) for deltas, _ in results] == [
        fact_answer(q) for q in questions
    ]
    assert engine.loaded is False
    with pytest.raises(EngineError):
        asyncio.run(collect(engine, request_for(engine, "Say OK")))


def test_shutdown_deadline_fails_unfinished_requests_with_an_engine_error() -> None:
    engine = make_engine()
    outcomes: list[object] = []

    async def one() -> None:
        # Near-uniform sampling: runs for ~1500 tokens, far past a zero-second shutdown deadline.
        request = request_for(engine, STORY_QUESTION, temperature=1e4, max_tokens=1500)
        try:
            outcomes.append(await collect(engine, request))
        except EngineError as error:
            outcomes.append(error)

    async def run() -> None:
        tasks = [asyncio.create_task(one()) for _ in range(4)]
        deadline = time.monotonic() + 10
        while engine.active < 4:
            assert time.monotonic() < deadline, "requests were not admitted"
            await asyncio.sleep(0.001)
        await asyncio.get_running_loop().run_in_executor(None, engine.shutdown, 0.0)
        await asyncio.gather(*tasks)

    asyncio.run(run())
    assert len(outcomes) == 4
    assert any(isinstance(o, EngineError) for o in outcomes)
    assert engine.active == 0


@pytest.mark.parametrize("bad_token", [-1, 1024], ids=["negative", "past_vocab"])
def test_token_ids_outside_the_vocabulary_are_rejected(
    engine: Engine, bad_token: int
) -> None:
    assert engine.vocab_size == 1024
    request = GenerationRequest(prompt_tokens=(5, bad_token, 6), max_tokens=4)
    with pytest.raises(ValueError, match="token ids"):
        asyncio.run(collect(engine, request))
    wait_until_idle(engine)


def test_generate_before_start_raises_engine_error() -> None:
    engine = Engine(
        str(MODEL_DIR), cache_dir=None, cache_max_bytes=MiB, cache_disk_max_bytes=MiB
    )
    assert engine.loaded is False
    request = GenerationRequest(prompt_tokens=(5, 6), max_tokens=4)
    with pytest.raises(EngineError):
        asyncio.run(collect(engine, request))


def test_finished_reports_queue_and_prefill_time() -> None:
    engine = make_engine(max_batch=1, max_queue=4)
    try:

        async def run_two() -> list[tuple[list[str], Finished]]:
            requests = [request_for(engine, STORY_QUESTION) for _ in range(2)]
            return await asyncio.gather(*(collect(engine, r) for r in requests))

        results = asyncio.run(run_two())
        finished = sorted((f for _, f in results), key=lambda f: f.queue_seconds)
        assert all(f.prefill_seconds > 0 for f in finished)
        # One slot: the second request waited at least as long as the first took to prefill.
        assert finished[1].queue_seconds > finished[0].queue_seconds
        assert finished[1].queue_seconds >= finished[0].prefill_seconds
    finally:
        engine.shutdown(timeout=10)


@pytest.mark.parametrize(
    "content",
    ["What is the capital of France?", "ünïcode  and\n\ttabs", "<s> </s> <|im_start|> markup-like text", "  leading"],
)
def test_chat_encoding_matches_the_transformers_tokenizer(engine: Engine, content: str) -> None:
    # encode_chat calls the Rust tokenizer directly; it must give exactly the ids transformers would.
    wrapper = engine._require_tokenizer()
    messages = [{"role": "user", "content": content}]
    text = wrapper.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    expected = tuple(wrapper._tokenizer.encode(text, add_special_tokens=False))
    assert engine.encode_chat(messages, None) == expected
