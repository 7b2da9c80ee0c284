from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _find_vectors() -> Path:
    explicit = os.environ.get("ORDERCHAMP_VECTORS")
    candidates = [Path(explicit)] if explicit else []
    candidates += [
        REPO / "tests" / "vectors" / "callback-signatures.json",
        REPO.parent / "shared" / "vectors" / "callback-signatures.json",
    ]
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError("callback-signatures.json not found")


@pytest.fixture(scope="session")
def signature_vectors() -> list[dict]:
    return json.loads(_find_vectors().read_text("utf-8"))
