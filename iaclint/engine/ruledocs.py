"""Rule pages (docs/rules/ID.md) written from the rule YAML, so the docs cannot drift from the rules.

`python -m iaclint.engine.ruledocs docs/rules` rewrites them; a test fails when they are stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

HOME = "https://github.com/iaclint/iaclint"
DOCS_URL = HOME + "/blob/main/docs/rules/{id}.md"


def help_uri(rule_id: str) -> str | None:
    """A bundled rule's page in docs/rules; a user's own rule links the first of its references' docs, if any."""
    from iaclint.engine.rules import rule_by_id

    rule = rule_by_id(rule_id)
    if rule is not None and rule.user:
        return next(iter(rule.references.get("docs", [])), None)
    return DOCS_URL.format(id=rule_id)


def rule_markdown(rule) -> str:
    docs = rule.docs
    lines = [f"# {rule.id} {rule.name}", "", f"**{rule.title}**", "",
             f"Service: {rule.service}. Severity: {rule.severity.value}."
             + (" Resources: " + ", ".join(f"`{t}`" for t in rule.resource_types) + "." if rule.resource_types else ""),
             ""]
    for heading, key in (("What it does", "what"), ("Why it matters", "why")):
        if docs.get(key):
            lines += [f"## {heading}", "", docs[key].strip(), ""]
    for heading, key in (("Failing example", "failing"), ("Passing example", "passing")):
        if docs.get(key, "").strip():
            lines += [f"## {heading}", "", "```hcl", docs[key].rstrip(), "```", ""]
    if not rule.builtin:
        lines += ["## Fix", "", docs.get("fix_safety", "").strip() or "No automatic fix.", ""]
    if docs.get("notes"):
        lines += ["## Notes", "", docs["notes"].strip(), ""]
    refs = [(k, v) for k, v in rule.references.items() if v]
    if refs:
        lines += ["## References", ""]
        lines += [f"- {k}: {', '.join(v)}" for k, v in refs]
        lines += [""]
    lines += [f"Suppress with `# iaclint:ignore {rule.id} reason=\"...\"` on or above the block.", ""]
    return "\n".join(lines)


def write_pages(directory: Path) -> list[Path]:
    from iaclint.engine.rules import all_rules

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for rule in all_rules():
        path = directory / f"{rule.id}.md"
        path.write_text(rule_markdown(rule), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    for page in write_pages(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/rules")):
        print(page)
