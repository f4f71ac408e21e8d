"""Tests of the exporter package, scripts/internvl2_export/ (one module here per module there)."""
