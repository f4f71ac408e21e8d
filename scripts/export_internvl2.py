#!/usr/bin/env python3
"""Export an InternVL2 checkpoint into the model directory of docs/model-format.md.

The command line of the exporter package beside this file (scripts/internvl2_export/, whose
exporter.py says what it writes); `--help` lists the options. Kept at this path because the
README, docs/, bench/ and tests run it as `python3 scripts/export_internvl2.py ...`.
"""
import sys

from internvl2_export.exporter import main

if __name__ == "__main__":
    sys.exit(main())
