"""End-to-end suite: every fixture fact and protocol rule through real HTTP and real inference."""
