"""Shared test configuration. Area-specific fixtures live beside their tests."""
