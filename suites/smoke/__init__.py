"""Smoke suite: one fast check per route of the live server."""
