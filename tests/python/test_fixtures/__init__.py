"""Tests of the reference and fixture makers, scripts/fixtures/."""
