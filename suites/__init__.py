"""Live-server suites: smoke, e2e, stress and benchmarks against a real `python -m server`."""
