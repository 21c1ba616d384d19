"""Reading the repository's YAML files, and naming them the way messages do (relative to it)."""
import os
from pathlib import Path

import yaml

# scripts/checks/files.py -> the repository. The scripts export ROOT; both agree.
ROOT = os.environ.get("ROOT") or str(Path(__file__).resolve().parents[2])
# This checkout, whatever tree ROOT names: where the binaries' own tables (renamed settings) live.
REPO = str(Path(__file__).resolve().parents[2])


def load_all(path):
    """Every non-empty document of a YAML stream."""
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def load(path):
    with open(path) as f:
        return yaml.safe_load(f)


def rel(path, root=ROOT):
    return os.path.relpath(path, root)
