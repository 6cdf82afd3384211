"""Inline suppression comments: iaclint's own, and the checkov, trivy and tfsec forms people already have.

    # iaclint:ignore NEP001,NEP002 reason="restored from an encrypted copy" expires=2027-01-31
    #checkov:skip=CKV_AWS_44:legacy cluster, replaced in Q3
    #trivy:ignore:AVD-AWS-0076         #tfsec:ignore:aws-neptune-enable-storage-encryption:exp:2027-01-31

A comment applies to the top-level block it is written in, or to the block right below it (with only
comments or blank lines in between); on a `module` block it applies to what the module creates. A
suppression without a reason still suppresses and is reported (SUP001, info); an expired one stops
suppressing and is reported (SUP002). A comment that cannot be honoured as written (an unknown rule
id, a misspelt marker such as `iaclint: ignore`, an expiry date that does not exist) is reported
(SUP003) and never suppresses. Suppressed findings stay in the report, marked, and never count toward
the exit code.

The text after a trivy or tfsec ignore is its reason (`#tfsec:ignore:AWS051 - no CMK needed`), and a
line may hold several (`#tfsec:ignore:a tfsec:ignore:b`), as in those tools. One without a reason of its own
takes the plain comment lines right above it as its reason (`# AWS managed key is fine for tests` then
`#tfsec:ignore:aws-sns-topic-encryption-use-cmk`), the way people write them. A checkov, trivy or tfsec
comment that names no iaclint rule is another tool's business: it is never reported.
"""

from __future__ import annotations

import hashlib
import re

from iaclint.engine.rules import Rule, active_rules, find_rule, find_rules, suggest
from iaclint.graph.config import SourcesView
from iaclint.graph.model import Graph
from iaclint.model import Finding, Location, Record, Suppression, Verdict
from iaclint.source import split_lines

TYPE_CHECKING = False  # typing.TYPE_CHECKING
if TYPE_CHECKING:
    from datetime import date

_IACLINT = re.compile(r"(?:#|//)\s*iaclint:ignore\b(.*)$")
_IDS = re.compile(r"\s*([A-Za-z0-9_-]+(?:\s*,\s*[A-Za-z0-9_-]+)*)")
_OPTION = re.compile(r"""(\w+)=("(?:[^"\\]|\\.)*"|'[^']*'|\S+)""")
_CHECKOV = re.compile(r"#\s*checkov:skip=([A-Za-z0-9_]+)(?::(.*))?$")
# trivy's and tfsec's own grammar (trivy pkg/iac/ignore/parse.go): the words of a comment, each stripped of
# leading `#`, `/` and `*`; a word `tfsec:ignore:ID[params]:exp:DATE:ws:NAME` is an ignore, any other word is
# free text, such as the reason people write after it ("#tfsec:ignore:AWS051 - no CMK needed").
_FOREIGN_START = re.compile(r"(?:#|//|/\*)\s*(?:trivy|tfsec):ignore:")
_FOREIGN_WORD = re.compile(r"^(trivy|tfsec):(ignore:.*)$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# anything that looks like an attempt at iaclint:ignore: iaclint: ignore, iaclint-ignore, iac-lint:ignore, ...
_NEAR_MISS = re.compile(r"(?:#|//)\s*(iac[\s_-]?lint\s*[:=_\s-]?\s*(?:ign|ing|skip|disable)\w*)", re.IGNORECASE)


class Comment(Record):
    """A suppression comment found in a file, before it is matched to findings."""

    _shown = ("kind", "file", "line", "column", "ids", "reason", "expires", "problem", "block_key")

    def __init__(self, kind: str, file: str, line: int, column: int, ids: set[str], reason: str, expires: date | None,
                 problem: str = "", block_key: tuple[str, int] | None = None):
        self.kind = kind  # inline, checkov, trivy, tfsec
        self.file = file
        self.line = line
        self.column = column
        self.ids = ids
        self.reason = reason
        self.expires = expires
        self.problem = problem  # why it cannot be honoured (a bad date, unknown rules, a misspelt marker); never suppresses
        self.block_key = block_key

    def location(self) -> Location:
        return Location(self.file, self.line, self.column, self.line, self.column)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _parse_date(text: str) -> date | None:
    if not _DATE.match(text):
        return None
    from datetime import date  # only for a comment with an expiry date

    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def parse_line(text: str, file: str, line: int) -> list[Comment]:
    out = []
    match = _IACLINT.search(text)
    if match:
        rest = match.group(1)
        ids_match = _IDS.match(rest)
        ids = {x.strip() for x in ids_match.group(1).split(",")} if ids_match else set()
        options = dict((k, _unquote(v)) for k, v in _OPTION.findall(rest[ids_match.end() if ids_match else 0:]))
        expires_text = options.get("expires", "")
        expires = _parse_date(expires_text) if expires_text else None
        problem = f"expires={expires_text} is not a date that exists (YYYY-MM-DD)" if expires_text and expires is None \
            else ""
        unknown = sorted(i for i in ids if not find_rules(i))
        if not ids:
            problem = "it names no rule (iaclint:ignore RULE[,RULE...] reason=\"...\")"
        elif unknown:
            problem = "; ".join(f"{i!r} is not a rule{suggest(i)}" for i in unknown)
        out.append(Comment("inline", file, line, match.start() + 1, ids, options.get("reason", "").strip(),
                           expires, problem))
    elif _NEAR_MISS.search(text):
        near = _NEAR_MISS.search(text)
        out.append(Comment("inline", file, line, near.start() + 1, set(), "", None,
                           f"{near.group(1)!r} is not the suppression marker: write iaclint:ignore RULE"))
    match = _CHECKOV.search(text)
    if match:
        out.append(Comment("checkov", file, line, match.start() + 1, {match.group(1)}, (match.group(2) or "").strip(),
                           None))
    out += _foreign_ignores(text, file, line)
    return out


def _foreign_ignores(text: str, file: str, line: int) -> list[Comment]:
    """The trivy and tfsec ignores of a line (several may share it), with the free text after them as reason."""
    start = _FOREIGN_START.search(text)
    if start is None:
        return []
    found: list[tuple[str, int, dict[str, str]]] = []
    words: list[str] = []
    for word in re.finditer(r"\S+", text[start.start():]):
        stripped = word.group().lstrip("#/*")
        match = _FOREIGN_WORD.match(stripped)
        sections = _sections(match.group(2)) if match else {}
        if sections.get("ignore"):
            found.append((match.group(1), start.start() + word.start() + 1, sections))
        elif stripped:
            words.append(stripped)
    reason = " ".join(words).lstrip("-:\u2013\u2014 ").strip()
    out = []
    for kind, column, sections in found:
        exp = sections.get("exp", "")
        expires = _parse_date(exp) if exp else None
        problem = f"exp:{exp} is not a date that exists (YYYY-MM-DD)" if exp and expires is None else ""
        out.append(Comment(kind, file, line, column, {sections["ignore"]}, reason, expires, problem))
    return out


def _sections(text: str) -> dict[str, str]:
    """"ignore:AWS051[from_port=443]:exp:2027-01-31:ws:prod" -> {"ignore": "AWS051", "exp": ..., "ws": ...}."""
    parts = text.split(":")
    sections = dict(zip(parts[0::2], parts[1::2]))
    if "ignore" in sections:
        sections["ignore"] = sections["ignore"].split("[", 1)[0]
    return sections


def scan(graph: Graph, files: dict | None = None) -> list[Comment]:
    """Suppression comments in the graph's .tf files and Terragrunt files (or only in ``files``, a subset of its
    sources)."""
    comments: list[Comment] = []
    for file, source in (files if files is not None else graph.sources).items():
        if not file.endswith((".tf", ".hcl")):
            continue
        text = source.text
        if "ign" not in text.lower() and "checkov:skip" not in text and "lint" not in text.lower():
            continue
        lines = split_lines(text)
        for number, line in enumerate(lines, start=1):  # numbered as blocks are located
            if "#" not in line and "//" not in line:
                continue
            for comment in parse_line(line, file, number):
                comment.block_key = _block_for(graph, source, comment)
                if not comment.reason and comment.kind != "inline":
                    comment.reason = _reason_above(lines, number)
                comments.append(comment)
    return comments


def _reason_above(lines: list[str], number: int) -> str:
    """The plain comment lines right above another tool's ignore, which people write as its reason:
    `# AWS managed key is fine for tests` then `#tfsec:ignore:aws-sns-topic-encryption-use-cmk`. Other ignore
    lines in between are stepped over (a stack of ignores under one explanation); a blank or code line ends it."""
    found: list[str] = []
    for index in range(number - 2, -1, -1):
        stripped = lines[index].strip()
        if not stripped.startswith(("#", "//")):
            break
        if parse_line(stripped, "", index + 1):
            if found:
                break
            continue
        text = stripped.lstrip("#/ \t").strip()
        if text:
            found.append(text)
    return " ".join(reversed(found))


def _block_for(graph: Graph, source, comment: Comment) -> tuple[str, int] | None:
    blocks = graph.blocks.get(comment.file, [])
    for block in blocks:
        first, last = source.line_col(block.start)[0], source.line_col(block.end)[0]
        if first <= comment.line <= last:
            return (comment.file, block.start)
    following = [b for b in blocks if source.line_col(b.start)[0] > comment.line]
    if not following:
        return None
    block = min(following, key=lambda b: b.start)
    header = source.line_col(block.start)[0]
    for number in range(comment.line + 1, header):
        stripped = source.line_text(number).strip()
        if stripped and not stripped.startswith(("#", "//")):
            return None
    return (comment.file, block.start)


def _finding_blocks(finding: Finding) -> list[tuple[str, int]]:
    context = finding.context
    if context is None:
        return []
    resource = context.resource
    hcl = getattr(resource, "hcl_resource", None) or resource
    keys = []
    block = getattr(hcl, "block", None)
    if block is not None:
        keys.append((block.file, block.start))
    for site in getattr(hcl, "call_sites", []):
        keys.append((site.span.file, site.span.start))
    return keys


def _matches(comment: Comment, rule: Rule) -> bool:
    if comment.kind == "inline":
        return any(rule in find_rules(i) for i in comment.ids)
    if comment.kind == "checkov":
        return bool(comment.ids & set(rule.references.get("checkov", [])))
    foreign = {i.lower() for i in rule.references.get("trivy", []) + rule.references.get("tfsec", [])}
    return bool({i.lower() for i in comment.ids} & foreign)


def apply_suppressions(findings: list[Finding], graphs: list[Graph], today: date | None = None) -> list[Finding]:
    """Mark suppressed findings; return the SUP findings about the comments themselves."""
    rules = {r.id: r for r in active_rules()}
    comments: list[Comment] = []
    scanned_files: set[str] = set()
    offered: dict[int, int] = {}  # a loader's files already offered (SourcesView.items_from): each once, not per root
    for graph in graphs:
        for g in (graph, graph.hcl_companion):
            if g is None:
                continue
            # roots share one loader, so a module file appears in many graphs: read its comments once
            sources = g.sources
            if isinstance(sources, SourcesView):
                start = offered.get(id(sources.order), 0)
                offered[id(sources.order)] = max(start, sources.limit)
                items = sources.items_from(start)
            else:
                items = sources.items()
            fresh = {f: src for f, src in items if f not in scanned_files}
            scanned_files.update(fresh)
            comments.extend(scan(g, fresh))
    if today is None and any(comment.expires is not None for comment in comments):
        from datetime import date

        today = date.today()
    by_block: dict[tuple[str, int], list[Comment]] = {}
    for comment in comments:
        if comment.block_key is not None:
            by_block.setdefault(comment.block_key, []).append(comment)
    for finding in findings:
        rule = rules.get(finding.rule_id)
        if rule is None:
            continue
        for key in _finding_blocks(finding):
            candidates = [c for c in by_block.get(key, []) if _matches(c, rule)]
            live = [c for c in candidates if not c.problem and (c.expires is None or c.expires >= today)]
            if live:
                chosen = live[0]
                finding.suppression = Suppression(chosen.kind, chosen.reason, chosen.location(),
                                                  chosen.expires.isoformat() if chosen.expires else None)
                break
    extra: list[Finding] = []
    for comment in comments:
        if comment.kind != "inline" and not any(_matches(comment, rule) for rule in rules.values()):
            continue  # another tool's suppression of a check iaclint does not have: not iaclint's to judge
        if comment.kind == "inline" and comment.block_key is None and not comment.problem:
            extra.append(_comment_finding("CONFIG", comment, "this iaclint:ignore comment is not in or above a "
                                                             "block, so it suppresses nothing"))
            continue
        if comment.problem:
            extra.append(_comment_finding("SUP003", comment, f"this suppression is not honoured: {comment.problem}"))
        elif comment.expires is not None and comment.expires < today:
            extra.append(_comment_finding("SUP002", comment, f"suppression of {', '.join(sorted(comment.ids))} "
                                                             f"expired on {comment.expires.isoformat()} and no "
                                                             "longer suppresses"))
        elif not comment.reason:
            extra.append(_comment_finding("SUP001", comment, f"suppression of {', '.join(sorted(comment.ids))} "
                                                             "gives no reason"))
    return extra


def _comment_finding(rule_id: str, comment: Comment, message: str) -> Finding:
    rule = find_rule(rule_id)
    finding = Finding(rule.id, rule.name, rule.severity, Verdict.FAIL, "", comment.location(), message)
    key = f"{rule.id}|{comment.file}|{','.join(sorted(comment.ids))}|{comment.kind}"
    finding.fingerprint = hashlib.sha256(key.encode()).hexdigest()[:16]
    return finding
