"""Fixtures shared with the chain tests."""

from tests.chain.conftest import embedded  # noqa: F401 - the embedded chain fixture, reused
