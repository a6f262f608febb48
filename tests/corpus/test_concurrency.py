"""Concurrency claims checked by counting results or errors only."""

import threading

from myapp import Counter, RateLimiter


# expect: AUD145
def test_limiter_thread_safety():
    limiter = RateLimiter()
    results = []

    def worker(n):
        for _ in range(50):
            results.append(limiter.allow(f"key-{n}", 100, 60))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 250


# expect: strong
def test_counter_thread_safety():
    counter = Counter()
    threads = [threading.Thread(target=counter.bump) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counter.value == 8


# expect: strong
def test_ids_unique_when_concurrent():
    ids = []
    threads = [threading.Thread(target=lambda: ids.append(Counter.next_id())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 8
