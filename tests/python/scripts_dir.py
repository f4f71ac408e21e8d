"""The one place the Python tests find scripts/, the import root of the exporter package
(scripts/internvl2_export/) and of the fixture makers (scripts/fixtures/): importing this module
puts scripts/ first on sys.path, so a test imports those packages as `python3 -m` would from
scripts/. SCRIPTS and ROOT name the folders for tests that run a command there.

Every test module imports it before the packages: `from scripts_dir import SCRIPTS`. unittest's
discovery (tests/CMakeLists.txt: `-m unittest discover -s tests/python`) puts tests/python on
sys.path, which is how the test modules, in this folder or its test packages, find this one.
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPTS = os.path.join(ROOT, "scripts")
if SCRIPTS not in sys.path:
    sys.path.insert(0, SCRIPTS)
