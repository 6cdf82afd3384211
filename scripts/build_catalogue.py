#!/usr/bin/env python3
"""Write rules/catalogue.json: every bundled rule file, parsed, with the SHA-256 of its bytes.

Run it after editing a rule file. iaclint reads the catalogue instead of parsing YAML on every run, and
parses any file whose bytes no longer match (so a stale catalogue costs time, never correctness);
tests/test_catalogue.py fails while it is stale.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import yaml

RULES = Path(__file__).resolve().parent.parent / "rules"


def catalogue() -> dict:
    out = {}
    for path in sorted(RULES.glob("*.yaml")):
        raw = path.read_bytes()
        out[path.name] = {"sha256": hashlib.sha256(raw).hexdigest(), "rule": yaml.safe_load(raw.decode("utf-8"))}
    return out


def main() -> None:
    text = json.dumps(catalogue(), indent=1, ensure_ascii=False) + "\n"  # key order kept: docs list them so
    (RULES / "catalogue.json").write_text(text, encoding="utf-8")
    print(f"wrote {RULES / 'catalogue.json'}")


if __name__ == "__main__":
    main()
