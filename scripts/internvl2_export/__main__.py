"""`python3 -m internvl2_export ARGS` (from scripts/): the exporter's command line, as
scripts/export_internvl2.py."""
import sys

from .exporter import main

sys.argv[0] = "python3 -m internvl2_export"  # for --help and usage errors
sys.exit(main())
