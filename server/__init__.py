"""A reference MLX inference server: Anthropic Messages and OpenAI Chat Completions over one model."""
