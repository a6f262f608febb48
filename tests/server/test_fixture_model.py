"""The committed fixture model answers its whole fact set exactly, and the check can tell when it does not."""

from __future__ import annotations

import json

import mlx.core as mx
import pytest
from mlx_lm import load
from mlx_lm.models import llama

from server.fixture import MODEL_DIR
from server.fixture.cases import fixed_cases
from server.fixture.facts import CONVERSATIONS, FACTS, SYSTEM_FACTS, SYSTEM_PROMPT, UNKNOWN_ANSWER
from server.fixture.verify import case_messages, check, greedy_answer

EOS = "<|im_end|>"


@pytest.fixture(scope="module")
def loaded():
    """The committed model, loaded the way any mlx-lm user would load it."""
    return load(str(MODEL_DIR))


@pytest.fixture(scope="module")
def config() -> dict:
    """The committed config.json."""
    return json.loads((MODEL_DIR / "config.json").read_text())


def test_cases_cover_every_fact_with_and_without_the_system_prompt() -> None:
    cases = fixed_cases()
    asked = {(case.turns[-1][1], case.with_system, case.answer) for case in cases if len(case.turns) == 1}
    for fact in FACTS:
        assert (fact.question, False, fact.answer) in asked
        assert (fact.question, True, fact.answer) in asked
    for fact in SYSTEM_FACTS:
        assert (fact.question, True, fact.answer) in asked
        assert (fact.question, False, UNKNOWN_ANSWER) in asked
    conversations = {(case.turns, case.with_system, case.answer) for case in cases if len(case.turns) > 1}
    for conversation in CONVERSATIONS:
        assert (conversation.turns, False, conversation.answer) in conversations
        assert (conversation.turns, True, conversation.answer) in conversations
    assert len(FACTS) >= 60 and len(SYSTEM_FACTS) >= 2


def test_committed_model_answers_every_case_exactly_and_stops_on_eos(loaded) -> None:
    model, tokenizer = loaded
    report = check(model, tokenizer, reuse_system_prefix=True)
    assert report.failures == ()
    assert (report.correct, report.total) == (len(fixed_cases()), len(fixed_cases()))


def test_full_prompts_without_prefix_reuse_give_the_same_answers(loaded) -> None:
    # The fast check above reuses the system block's KV cache; these cases run the whole templated
    # prompt from scratch, picking the answers most fragile to a wrong prefix (non-ASCII, newlines,
    # the system-dependent facts, multi-turn chats).
    model, tokenizer = loaded
    fragile = [case for case in fixed_cases() if case.with_system and _is_fragile(case)]
    assert len(fragile) >= 10
    report = check(model, tokenizer, fragile, reuse_system_prefix=False)
    assert report.failures == ()
    assert report.correct == len(fragile)


def _is_fragile(case) -> bool:
    system_questions = {fact.question for fact in SYSTEM_FACTS}
    multi_turn = len(case.turns) > 1
    return multi_turn or not case.answer.isascii() or "\n" in case.answer or case.turns[-1][1] in system_questions


def test_random_weights_of_the_same_config_answer_nothing(loaded, config) -> None:
    # Negative control: the same tokenizer, template and checker with untrained weights must fail
    # every case, or the check above would prove nothing.
    _, tokenizer = loaded
    mx.random.seed(1234)
    untrained = llama.Model(llama.ModelArgs.from_dict(config))
    mx.eval(untrained.parameters())
    report = check(untrained, tokenizer, reuse_system_prefix=True)
    assert report.total == len(fixed_cases())
    assert report.correct == 0


def test_max_tokens_cuts_a_long_answer_with_finish_reason_length(loaded) -> None:
    model, tokenizer = loaded
    count = next(fact for fact in FACTS if fact.question == "Count from 1 to 20.")
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": count.question}], add_generation_prompt=True)
    text, reason = greedy_answer(model, tokenizer, prompt, 5)
    assert reason == "length"
    assert count.answer.startswith(text) and 0 < len(text) < len(count.answer)
    assert len(tokenizer.encode(text, add_special_tokens=False)) == 5


def test_model_directory_is_small_self_contained_chatml(loaded, config) -> None:
    _, tokenizer = loaded
    files = {path.name for path in MODEL_DIR.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= files
    assert sum(path.stat().st_size for path in MODEL_DIR.iterdir()) < 5 * 1024 * 1024
    assert config["model_type"] == "llama"
    assert config["eos_token_id"] == tokenizer.convert_tokens_to_ids(EOS)
    assert list(tokenizer.eos_token_ids) == [config["eos_token_id"]]
    assert len(tokenizer.get_vocab()) <= config["vocab_size"]
    system_block = tokenizer.apply_chat_template([{"role": "system", "content": SYSTEM_PROMPT}])
    assert len(system_block) >= 300


def test_chat_template_accepts_text_parts_like_plain_strings(loaded) -> None:
    _, tokenizer = loaded
    case = next(case for case in fixed_cases() if case.with_system and len(case.turns) > 1)
    as_strings = case_messages(case)
    as_parts = [
        {"role": m["role"], "content": [{"type": "text", "text": m["content"][:5]}, {"type": "text", "text": m["content"][5:]}]}
        for m in as_strings
    ]
    as_parts[0]["content"].insert(1, {"type": "image", "source": "ignored: only text parts are rendered"})
    rendered = tokenizer.apply_chat_template(as_strings, add_generation_prompt=True, tokenize=False)
    assert tokenizer.apply_chat_template(as_parts, add_generation_prompt=True, tokenize=False) == rendered
    assert rendered.startswith("<|im_start|>system\n" + SYSTEM_PROMPT + "<|im_end|>\n<|im_start|>user\n")
    assert rendered.endswith("<|im_end|>\n<|im_start|>assistant\n")
