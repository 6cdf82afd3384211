"""What the GitHub Action shows of a report, within GitHub's limits (standard library only).

    action_report.py annotations --sarif FILE ANNOTATIONS...   # workflow commands, at most 10 of each kind
    action_report.py summary --sarif FILE SUMMARY.md           # the job summary, under 1 MiB

GitHub shows 10 error, 10 warning and 10 notice annotations per step and drops the rest without a word,
and it refuses a step summary over 1 MiB. So the Action prints the first annotations of each kind and
says how many more there are and where they all are (the SARIF report, the log); and it cuts the
Markdown summary at a line, closing any open code fence or <details>, with the same pointer.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

PER_KIND = 10  # annotations of one kind GitHub shows per step
KINDS = ("error", "warning", "notice")
SUMMARY_LIMIT = 1_000_000  # bytes; GitHub's limit is 1 MiB (1,048,576) per step summary
_FENCE = re.compile(r"^(`{3,}|~{3,})")


def capped_annotations(lines: list[str], sarif: str) -> list[str]:
    """The workflow commands to print: every line that is not an annotation, and the first PER_KIND of each
    kind; when some are left out, a warning that says how many and where to find them takes the last
    warning place."""
    counts = {kind: 0 for kind in KINDS}
    for line in lines:
        kind = _kind(line)
        if kind:
            counts[kind] += 1
    limits = {kind: PER_KIND for kind in KINDS}
    if any(n > PER_KIND for n in counts.values()) and counts["warning"] >= PER_KIND:
        limits["warning"] = PER_KIND - 1  # room for the warning that says what is missing
    shown = {kind: 0 for kind in KINDS}
    out = []
    for line in lines:
        kind = _kind(line)
        if kind is None:
            out.append(line)
        elif shown[kind] < limits[kind]:
            shown[kind] += 1
            out.append(line)
    hidden = {kind: counts[kind] - shown[kind] for kind in KINDS if counts[kind] > shown[kind]}
    if hidden:
        total = sum(hidden.values())
        parts = ", ".join(f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in hidden.items())
        out.append(f"::warning title=iaclint: {total} more not annotated::{total} more "
                   f"annotation{'s' if total != 1 else ''} ({parts}) not shown: GitHub shows {PER_KIND} of each "
                   f"kind per step. Every finding is in the SARIF report ({sarif}) and in this step's log.")
    return out


def _kind(line: str) -> str | None:
    for kind in KINDS:
        if line.startswith(f"::{kind} ") or line.startswith(f"::{kind}::"):
            return kind
    return None


def capped_summary(text: str, sarif: str, limit: int = SUMMARY_LIMIT) -> str:
    """The Markdown summary, cut at a line boundary so that it and the closing note stay under ``limit``."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    note_template = ("\n\n> **The summary stops here**: it is {shown:,} of {total:,} bytes, and GitHub accepts at "
                     "most 1 MiB per step summary. Every finding is in the SARIF report (`{sarif}`, uploaded to code "
                     "scanning) and in this step's log.\n")
    end = limit - 512  # room for the closers and the note, usually enough the first time
    while True:
        cut = data.rfind(b"\n", 0, max(end, 0))
        kept = data[:cut + 1 if cut >= 0 else 0].decode("utf-8", errors="ignore")
        result = kept + _closers(kept.splitlines()) + note_template.format(
            shown=len(kept.encode("utf-8")), total=len(data), sarif=sarif)
        if len(result.encode("utf-8")) <= limit or cut <= 0:
            return result
        end = cut  # the closers and the note did not fit: one line less


def _closers(lines: list[str]) -> str:
    """What closes the code fence and the <details> blocks left open at the end of ``lines``."""
    fence = ""
    details = 0
    for line in lines:
        match = _FENCE.match(line.strip())
        if fence:
            if match and line.strip() == fence[0] * len(line.strip()) and len(line.strip()) >= len(fence):
                fence = ""
            continue
        if match:
            fence = match.group(1)
            continue
        details += line.count("<details>") + line.count("<details ") - line.count("</details>")
    out = ""
    if fence:
        out += fence + "\n"
    out += "\n</details>\n" * max(details, 0)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["annotations", "summary"])
    parser.add_argument("--sarif", default="the SARIF file", help="where the full report is, to say so")
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_intermixed_args(argv)
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in args.files if p.is_file()]
    if args.what == "annotations":
        lines = [line for text in texts for line in text.splitlines() if line.strip()]
        sys.stdout.write("".join(line + "\n" for line in capped_annotations(lines, args.sarif)))
    else:
        sys.stdout.write(capped_summary("".join(texts), args.sarif))
    return 0


if __name__ == "__main__":
    sys.exit(main())
