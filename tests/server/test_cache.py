"""Per-agent prompt cache tests on the real fixture model: reuse, restart, bad files, isolation, LRU, faults."""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.cache import CACHE_SUFFIX, agent_file_name
from server.engine import Engine, Finished, GenerationRequest, TextDelta
from server.fixture import MODEL_DIR
from server.fixture.facts import CONVERSATIONS, FACTS, SYSTEM_PROMPT, Conversation
from server.kv_prefix import common_prefix_length

MiB = 1 << 20
TALK = CONVERSATIONS[0]


def make_engine(
    cache_dir: Path | None, model: Path = MODEL_DIR, **overrides: object
) -> Engine:
    """A started engine on ``model`` with generous cache budgets unless overridden."""
    options: dict = {"cache_max_bytes": 64 * MiB, "cache_disk_max_bytes": 64 * MiB}
    options.update(overrides)
    engine = Engine(str(model), cache_dir=cache_dir, **options)
    engine.start()
    return engine


@pytest.fixture
def engines() -> Iterator[list[Engine]]:
    """Engines created by a test, shut down at its end even if it fails."""
    created: list[Engine] = []
    yield created
    for engine in created:
        engine.shutdown(timeout=10)


def start(engines: list[Engine], cache_dir: Path | None, **options: object) -> Engine:
    engine = make_engine(cache_dir, **options)
    engines.append(engine)
    return engine


async def _collect(engine: Engine, request: GenerationRequest) -> tuple[str, Finished]:
    parts: list[str] = []
    async for event in engine.generate(request):
        if isinstance(event, TextDelta):
            parts.append(event.text)
        else:
            return "".join(parts), event
    raise AssertionError("the stream ended without Finished")


def turn(
    engine: Engine,
    agent: str | None,
    turns: list[tuple[str, str]],
    system: str | None = SYSTEM_PROMPT,
) -> tuple[str, Finished]:
    """Send a chat (role, content) list as one request for ``agent`` and return (text, Finished)."""
    messages = [{"role": role, "content": content} for role, content in turns]
    request = GenerationRequest(
        prompt_tokens=engine.encode_chat(messages, system),
        max_tokens=100,
        agent_id=agent,
    )
    return asyncio.run(_collect(engine, request))


def first_turn(conversation: Conversation) -> list[tuple[str, str]]:
    return list(conversation.turns[:1])


def second_turn(conversation: Conversation) -> list[tuple[str, str]]:
    return list(conversation.turns)


def test_second_turn_reuses_the_first_turns_cache(engines: list[Engine]) -> None:
    engine = start(engines, None)
    text, first = turn(engine, "agent-1", first_turn(TALK))
    assert text == TALK.turns[1][1]
    assert (first.cached_tokens, first.cache_write_tokens) == (0, first.prompt_tokens)
    text, second = turn(engine, "agent-1", second_turn(TALK))
    assert text == TALK.answer
    assert second.cached_tokens >= first.prompt_tokens
    assert second.cache_write_tokens == second.prompt_tokens - second.cached_tokens


def test_requests_without_an_agent_neither_read_nor_write_agent_caches(
    engines: list[Engine],
) -> None:
    engine = start(engines, None)
    turn(engine, "agent-1", first_turn(TALK))
    text, anonymous = turn(engine, None, second_turn(TALK))
    assert text == TALK.answer
    assert (anonymous.cached_tokens, anonymous.cache_write_tokens) == (0, 0)


def test_agents_never_see_each_others_cache(
    engines: list[Engine], tmp_path: Path
) -> None:
    engine = start(engines, tmp_path)
    turn(engine, "alice", first_turn(TALK))
    text, bob = turn(engine, "bob", second_turn(TALK))
    assert text == TALK.answer
    assert bob.cached_tokens == 0
    _, alice = turn(engine, "alice", second_turn(TALK))
    assert alice.cached_tokens > 0


def test_restart_serves_the_history_from_disk(
    engines: list[Engine], tmp_path: Path
) -> None:
    before = start(engines, tmp_path)
    _, first = turn(before, "agent-1", first_turn(TALK))
    before.shutdown(timeout=10)
    history = first.prompt_tokens + first.completion_tokens
    assert history > 700

    after = start(engines, tmp_path)
    text, second = turn(after, "agent-1", second_turn(TALK))
    assert text == TALK.answer
    assert second.cached_tokens >= 0.9 * history
    assert after.stats["disk_loads"] == 1


def test_cache_files_are_named_by_a_hash_of_the_agent_id(
    engines: list[Engine], tmp_path: Path
) -> None:
    engine = start(engines, tmp_path)
    hostile = "../../etc/passwd\x00 agent"
    turn(engine, hostile, first_turn(TALK))
    assert engine.flush_cache(timeout=10)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [agent_file_name(hostile)]
    assert re.fullmatch(r"[0-9a-f]{64}" + re.escape(CACHE_SUFFIX), names[0])


def _corrupt(path: Path, how: str, tmp_path: Path) -> None:
    data = path.read_bytes()
    if how == "bit_flip":
        # Flip a byte near the end: inside the tensor data, past the JSON header.
        index = len(data) - 100
        path.write_bytes(data[:index] + bytes([data[index] ^ 0xFF]) + data[index + 1 :])
    elif how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "garbage":
        path.write_bytes(b"\x00\xffnot a safetensors file" * 10)
    elif how == "other_model":
        other_model = tmp_path / "other-model"
        shutil.copytree(MODEL_DIR, other_model)
        other_dir = tmp_path / "other-cache"
        other = make_engine(other_dir, model=other_model)
        try:
            turn(other, "agent-1", first_turn(TALK))
        finally:
            other.shutdown(timeout=10)
        shutil.copyfile(other_dir / path.name, path)
    else:
        raise ValueError(how)


@pytest.mark.parametrize("how", ["bit_flip", "truncated", "garbage", "other_model"])
def test_bad_cache_file_is_discarded_with_one_warning(
    engines: list[Engine], tmp_path: Path, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    cache_dir = tmp_path / "cache"
    writer = start(engines, cache_dir)
    turn(writer, "agent-1", first_turn(TALK))
    writer.shutdown(timeout=10)
    path = cache_dir / agent_file_name("agent-1")
    _corrupt(path, how, tmp_path)

    reader = start(engines, cache_dir)
    with caplog.at_level(logging.WARNING, logger="server.cache"):
        text, finished = turn(reader, "agent-1", second_turn(TALK))
    assert text == TALK.answer
    assert finished.cached_tokens == 0
    warnings = [
        r
        for r in caplog.records
        if r.name == "server.cache" and r.levelno == logging.WARNING
    ]
    assert len(warnings) == 1
    assert path.name in warnings[0].getMessage()
    assert reader.stats["discarded_files"] == 1
    # The bad file was replaced by this turn's good one, which the next restart serves.
    reader.shutdown(timeout=10)
    again = start(engines, cache_dir)
    _, third = turn(again, "agent-1", second_turn(TALK))
    # The same prompt again: everything but the last token, which must be recomputed for its logits.
    assert third.cached_tokens == finished.prompt_tokens - 1


def test_memory_lru_evicts_the_least_recently_used_agent(engines: list[Engine]) -> None:
    probe = start(engines, None)
    turn(probe, "probe", first_turn(TALK))
    one_entry = probe.stats["cache_memory_bytes"]
    assert one_entry > 0

    engine = start(engines, None, cache_max_bytes=int(one_entry * 2.5))
    for agent in ("a", "b", "c"):
        turn(engine, agent, first_turn(TALK))
    assert engine.cache_store is not None
    assert engine.cache_store.memory_agents() == ["b", "c"]
    assert engine.stats["cache_memory_bytes"] <= int(one_entry * 2.5)
    _, evicted = turn(engine, "a", second_turn(TALK))
    _, kept = turn(engine, "c", second_turn(TALK))
    assert evicted.cached_tokens == 0
    assert kept.cached_tokens > 0


def test_disk_lru_keeps_the_budget_and_drops_the_oldest_file(
    engines: list[Engine], tmp_path: Path
) -> None:
    probe_dir = tmp_path / "probe"
    probe = start(engines, probe_dir)
    turn(probe, "probe", first_turn(TALK))
    assert probe.flush_cache(timeout=10)
    one_file = (probe_dir / agent_file_name("probe")).stat().st_size

    cache_dir = tmp_path / "cache"
    budget = int(one_file * 2.5)
    engine = start(engines, cache_dir, cache_max_bytes=1, cache_disk_max_bytes=budget)
    for agent in ("a", "b", "c"):
        _, finished = turn(engine, agent, first_turn(TALK))
        # Memory holds nothing (1 byte budget), yet the write to disk is real and reported.
        assert finished.cache_write_tokens == finished.prompt_tokens
    engine.shutdown(timeout=10)
    names = {p.name for p in cache_dir.iterdir()}
    assert names == {agent_file_name("b"), agent_file_name("c")}
    assert sum(p.stat().st_size for p in cache_dir.iterdir()) <= budget

    restarted = start(engines, cache_dir, cache_disk_max_bytes=budget)
    _, dropped = turn(restarted, "a", second_turn(TALK))
    _, served = turn(restarted, "c", second_turn(TALK))
    assert dropped.cached_tokens == 0
    assert served.cached_tokens > 0


def test_leftover_temp_files_are_removed_and_never_served(
    engines: list[Engine], tmp_path: Path
) -> None:
    tmp_path.joinpath(".tmp-deadbeef" + CACHE_SUFFIX).write_bytes(b"half written")
    engine = start(engines, tmp_path)
    assert list(tmp_path.iterdir()) == []
    _, finished = turn(engine, "agent-1", first_turn(TALK))
    assert finished.cached_tokens == 0


def test_fault_no_cache_never_reuses(
    engines: list[Engine], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERVER_FAULT_NO_CACHE", "1")
    engine = start(engines, tmp_path)
    turn(engine, "agent-1", first_turn(TALK))
    text, second = turn(engine, "agent-1", second_turn(TALK))
    assert text == TALK.answer
    assert (second.cached_tokens, second.cache_write_tokens) == (0, 0)
    assert list(tmp_path.iterdir()) == []


def test_fault_no_cache_persist_keeps_memory_only(
    engines: list[Engine], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERVER_FAULT_NO_CACHE_PERSIST", "1")
    engine = start(engines, tmp_path)
    turn(engine, "agent-1", first_turn(TALK))
    _, warm = turn(engine, "agent-1", second_turn(TALK))
    assert warm.cached_tokens > 0
    engine.shutdown(timeout=10)
    assert list(tmp_path.iterdir()) == []
    restarted = start(engines, tmp_path)
    _, cold = turn(restarted, "agent-1", second_turn(TALK))
    assert cold.cached_tokens == 0


def test_anonymous_requests_share_a_common_prefix_honestly(
    engines: list[Engine],
) -> None:
    engine = start(engines, None)
    first_q, second_q = "What is the capital of Peru?", "What is the capital of Kenya?"
    first_prompt = engine.encode_chat(
        [{"role": "user", "content": first_q}], SYSTEM_PROMPT
    )
    second_prompt = engine.encode_chat(
        [{"role": "user", "content": second_q}], SYSTEM_PROMPT
    )
    text, first = turn(engine, None, [("user", first_q)])
    assert (text, first.cached_tokens) == ("Lima.", 0)
    text, second = turn(engine, None, [("user", second_q)])
    assert text == "Nairobi."
    shared = common_prefix_length(first_prompt, second_prompt)
    assert shared > 700
    assert second.cached_tokens == shared
    assert second.cache_write_tokens == 0


def test_concurrent_anonymous_requests_prefill_a_shared_prefix_once(
    engines: list[Engine],
) -> None:
    engine = start(engines, None)
    facts = [f for f in FACTS if f.kind == "capital"][:16]
    prompts = [
        engine.encode_chat([{"role": "user", "content": f.question}], SYSTEM_PROMPT)
        for f in facts
    ]
    shared = common_prefix_length(prompts[0], prompts[1])
    assert shared > 700

    async def run_all() -> list[tuple[str, Finished]]:
        requests = [GenerationRequest(prompt_tokens=p, max_tokens=50) for p in prompts]
        return await asyncio.gather(*(_collect(engine, r) for r in requests))

    results = asyncio.run(run_all())
    assert [text for text, _ in results] == [f.answer for f in facts]
    served_from_cache = [f.cached_tokens for _, f in results if f.cached_tokens]
    # One or two requests compute the prefix; the others wait for it and report it as cached.
    assert len(served_from_cache) >= 12
    assert all(cached >= shared for cached in served_from_cache)


def test_prefix_too_big_for_the_anonymous_pool_is_computed_and_never_reported_cached(
    engines: list[Engine],
) -> None:
    # 1 MiB budget: the pool gets 128 KiB, less than the ~380 KB system-prompt KV.
    engine = start(engines, None, cache_max_bytes=MiB)
    facts = [f for f in FACTS if f.kind == "capital"][:8]

    async def run_all() -> list[tuple[str, Finished]]:
        requests = [
            GenerationRequest(
                prompt_tokens=engine.encode_chat(
                    [{"role": "user", "content": f.question}], SYSTEM_PROMPT
                ),
                max_tokens=50,
            )
            for f in facts
        ]
        return await asyncio.gather(*(_collect(engine, r) for r in requests))

    results = asyncio.run(run_all())
    assert [text for text, _ in results] == [f.answer for f in facts]
    assert [f.cached_tokens for _, f in results] == [0] * len(facts)
    assert engine.queued == 0
    assert engine.active == 0
