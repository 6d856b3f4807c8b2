"""Shared test configuration. Area-specific fixtures live beside their tests."""

pytest_plugins = ["tests.support.plugin"]
