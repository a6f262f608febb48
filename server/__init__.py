"""A reference MLX inference server: Anthropic Messages and OpenAI Chat Completions over one model.

Modules, each importing only modules listed after it (no import cycles):

- HTTP: ``__main__`` (command line) → ``app`` (``create_app``) → ``settings``, ``middleware`` (request
  guard), ``routes`` (health, models), ``api_anthropic`` and ``api_openai`` → ``api_common`` (what both
  APIs do with a generation) → ``errors`` (API-shaped errors) → ``validate`` (request bodies and fields).
- Inference: ``engine`` (the asyncio face of MLX) → ``batching`` (the worker thread) → ``prefix_sharing``,
  ``jobs``, ``stop_text``, ``cache`` (per-agent KV caches) → ``cache_format`` (files), ``kv_prefix``.
- ``blas`` (which CPU matrix library MLX uses) and ``fixture`` (the tiny test model) stand apart.
"""
