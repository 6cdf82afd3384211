"""The plain data that flows from the engine to the formatters: findings, fixes, the report."""

from __future__ import annotations

from enum import Enum

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from typing import Any, Sequence


class Severity(str, Enum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_ORDER.index(self)

    @classmethod
    def parse(cls, text: str) -> "Severity":
        try:
            return cls(text.lower())
        except ValueError:
            names = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown severity {text!r} (one of: {names})") from None


_SEVERITY_ORDER = [Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]


class Verdict(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"


class Applicability(str, Enum):
    SAFE = "safe"
    UNSAFE = "unsafe"
    DISPLAY = "display"


class ValueRecord:
    """An immutable value with slots: equal to another of its type with equal fields, and hashable.

    The small types below are written out instead of being frozen dataclasses: millions of spans are
    made while parsing (a frozen dataclass sets each field through object.__setattr__), and the
    methods dataclasses generate are compiled on every run, a cost paid before a one-file check can
    start. Fields are never assigned after __init__.
    """

    __slots__ = ()

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({inner})"

    def __reduce__(self):  # the parse cache pickles millions of spans: their fields, positionally
        return (type(self), self._values())


class Record:
    """A mutable record with slots: equal to another of its type whose ``_shown`` fields are equal,
    unhashable, and shown as Type(field=value, ...), as a dataclass would be.

    Written out rather than made by @dataclass for the reason given in ValueRecord: the methods a
    dataclass generates are compiled on every start.
    """

    __slots__ = ()
    _shown: tuple[str, ...] = ()  # the fields compared and shown: all but working data (a fix's sources)
    __hash__ = None  # type: ignore[assignment]  # mutable, so unhashable, as a dataclass with eq is

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return tuple(getattr(self, name) for name in self._shown) == tuple(getattr(other, name) for name in self._shown)

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._shown)
        return f"{type(self).__qualname__}({inner})"


class Span(ValueRecord):
    """A range of characters in one file (offsets into SourceFile.text)."""

    __slots__ = ("file", "start", "end")

    def __init__(self, file: str, start: int, end: int):
        self.file = file
        self.start = start
        self.end = end

    def _values(self) -> tuple:
        return (self.file, self.start, self.end)


class Location(ValueRecord):
    """1-based line and column range of a finding or related place."""

    __slots__ = ("file", "line", "column", "end_line", "end_column")

    def __init__(self, file: str, line: int, column: int, end_line: int, end_column: int):
        self.file = file
        self.line = line
        self.column = column
        self.end_line = end_line
        self.end_column = end_column


class Related(ValueRecord):
    """A second place that explains a finding: where a value came from, a module call, a cluster."""

    __slots__ = ("location", "message")

    def __init__(self, location: Location, message: str):
        self.location = location
        self.message = message


class Edit(ValueRecord):
    """Replace [start, end) of a file with ``replacement``.

    Line and column positions, for reports, are worked out from the source file when asked for: a
    large file's tens of thousands of fixes would otherwise hold four position pairs per edit.
    """

    __slots__ = ("file", "start", "end", "replacement", "source")

    def __init__(self, file: str, start: int, end: int, replacement: str, source: Any = None):
        self.file = file
        self.start = start
        self.end = end
        self.replacement = replacement
        self.source = source  # the SourceFile, once the fix is built; None: positions are (0, 0)

    def _values(self) -> tuple:  # the source is where positions come from, not part of the edit (nor pickled)
        return (self.file, self.start, self.end, self.replacement)

    def __repr__(self) -> str:
        return f"Edit(file={self.file!r}, start={self.start}, end={self.end}, replacement={self.replacement!r})"

    def located(self, source: Any) -> "Edit":
        """The same edit, able to give its line and column positions."""
        return Edit(self.file, self.start, self.end, self.replacement, source)

    @property
    def start_location(self) -> tuple[int, int]:
        """(line, column) of the start, 1-based."""
        return self.source.line_col(self.start) if self.source is not None else (0, 0)

    @property
    def end_location(self) -> tuple[int, int]:
        return self.source.line_col(self.end) if self.source is not None else (0, 0)

    @property
    def start_utf8(self) -> tuple[int, int]:
        """(line, column in UTF-8 bytes), for formats that count bytes (rdjson)."""
        return self.source.utf8_position(self.start) if self.source is not None else (0, 0)

    @property
    def end_utf8(self) -> tuple[int, int]:
        return self.source.utf8_position(self.end) if self.source is not None else (0, 0)

    def overlaps(self, other: "Edit") -> bool:
        if self.file != other.file:
            return False
        if self.start == self.end == other.start == other.end:
            return True
        return self.start < other.end and other.start < self.end


class Fix(Record):
    """Edits that make a finding go away, and whether applying them is safe."""

    __slots__ = ("title", "applicability", "edits", "note", "sources")
    _shown = ("title", "applicability", "edits", "note")

    def __init__(self, title: str, applicability: Applicability, edits: Sequence[Edit], note: str = "",
                 sources: dict[str, Any] | None = None):
        self.title = title
        self.applicability = applicability
        self.edits = edits  # a tuple once attached to a finding
        self.note = note
        self.sources = sources  # file -> SourceFile, for the diff

    @property
    def diff(self) -> str:
        """Made when a report shows it: a large file's thousands of fixes need no diff in text output."""
        if self.sources is None:
            return ""
        from iaclint.fixes.diff import unified_diff

        return unified_diff(self.sources, self.edits)

    def overlaps(self, other: "Fix") -> bool:
        return any(a.overlaps(b) for a in self.edits for b in other.edits)


class Suppression(Record):
    """Why a finding is not counted: an inline comment, a peer tool's comment, the baseline."""

    __slots__ = ("kind", "justification", "location", "expires")
    _shown = __slots__

    def __init__(self, kind: str, justification: str, location: Location | None = None, expires: str | None = None):
        self.kind = kind  # "inline", "checkov", "trivy", "tfsec", "baseline", "config"
        self.justification = justification
        self.location = location
        self.expires = expires


class Finding(Record):
    """One rule's verdict on one resource, as every report format shows it."""

    __slots__ = ("rule_id", "rule_name", "severity", "verdict", "address", "location", "message", "origin",
                 "related", "fix", "no_fix_reason", "suppression", "fingerprint", "resource_type", "baseline_state",
                 "base_state", "context", "root", "source_line", "caret", "end_line_text")
    _shown = tuple(name for name in __slots__ if name != "context")

    def __init__(self, rule_id: str, rule_name: str, severity: Severity, verdict: Verdict, address: str,
                 location: Location, message: str, origin: dict[str, Any] | None = None,
                 related: Sequence[Related] = (), fix: Fix | None = None, no_fix_reason: str = "",
                 suppression: Suppression | None = None, fingerprint: str = "", resource_type: str = "",
                 baseline_state: str | None = None, base_state: str | None = None, context: Any = None,
                 root: str = "", source_line: str | None = None, caret: tuple[int, int] | None = None,
                 end_line_text: str | None = None):
        self.rule_id = rule_id
        self.rule_name = rule_name
        self.severity = severity
        self.verdict = verdict
        self.address = address
        self.location = location
        self.message = message
        self.origin = origin  # set for findings made without a context; see origin_info()
        self.related = related  # assigned whole, never appended to: an empty tuple is shared
        self.fix = fix
        self.no_fix_reason = no_fix_reason
        self.suppression = suppression
        self.fingerprint = fingerprint
        self.resource_type = resource_type
        self.baseline_state = baseline_state  # "baselined" when a baseline entry matches
        self.base_state = base_state  # --since REF: "new" (not there at REF) or "existing"
        self.context = context  # engine data for fixes; never output
        self.root = root  # the root module the finding was found through
        self.source_line = source_line  # the text of location.line, for snippets (None: not a source file)
        self.caret = caret  # columns [start, end) of the offending value on that line
        self.end_line_text = end_line_text  # the text of location.end_line when it differs (byte columns, rdjson)

    @property
    def fix_marker(self) -> str:
        if self.fix is None:
            return ""
        return {
            Applicability.SAFE: "[fix]",
            Applicability.UNSAFE: "[unsafe fix]",
            Applicability.DISPLAY: "[suggestion]",
        }[self.fix.applicability]

    def origin_info(self) -> dict[str, Any] | None:
        """Where the offending value was written, for JSON and SARIF. Worked out when a report asks for
        it: a dict per finding was a tenth of a large run's memory, and text output never shows it."""
        if self.origin is None and self.context is not None:
            return self.context.origin()
        return self.origin

    def files(self) -> set[str]:
        names = {self.location.file}
        names.update(r.location.file for r in self.related)
        return names


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """'1 file', '3 files', '0 files' ('1 fix', '2 fixes' with ``nouns``): messages count things often."""
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"


class RuleSelection(Record):
    """Which rules run (--select, --ignore, settings) and at what severity. Kept here, not beside the rule runner,
    so reading the command line imports no rule machinery (engine/runner.py gives it under its old name)."""

    _shown = ("select", "ignore", "severity")

    def __init__(self, select: set[str] | None = None, ignore: set[str] | None = None,
                 severity: dict[str, Severity] | None = None):
        self.select = select  # rule ids or names; None = all
        self.ignore = set() if ignore is None else ignore
        self.severity = {} if severity is None else severity  # overrides by rule id

    def wants(self, rule: Any) -> bool:
        keys = {rule.id, rule.name}
        if keys & self.ignore:
            return False
        if rule.builtin and rule.id in ("PARSE", "CONFIG"):
            return True  # broken input is reported whatever rules are selected, unless ignored by name
        return self.select is None or bool(keys & self.select)

    def severity_of(self, rule: Any) -> Severity:
        return self.severity.get(rule.id, rule.severity)


class Report(Record):
    """A whole run: findings, the files checked, and what the user should know."""

    _shown = ("tool_version", "findings", "files_checked", "rules", "threshold", "fail_on_unknown", "notices",
              "errors", "evaluations", "fixed_baseline_entries", "providers", "roots", "cwd", "repo_root",
              "settings", "base_ref", "since", "existing_hidden")

    def __init__(self, tool_version: str, findings: list[Finding], files_checked: list[str], rules: list[Any] | None,
                 threshold: Severity = Severity.LOW, fail_on_unknown: bool = False,
                 notices: list[str] | None = None, errors: list[str] | None = None,
                 evaluations: list[tuple[str, str, str, str]] | None = None,
                 fixed_baseline_entries: list[dict[str, Any]] | None = None,
                 providers: list[dict[str, Any]] | None = None, roots: list[str] | None = None, cwd: str = "",
                 repo_root: str = "", settings: str | None = None, base_ref: str | None = None,
                 since: str | None = None, existing_hidden: int = 0):
        self.tool_version = tool_version
        self.findings = findings
        self.files_checked = files_checked
        self.rules = rules  # the rules, for formatters that describe them (SARIF); None: the catalogue's, when asked
        self.threshold = threshold
        self.fail_on_unknown = fail_on_unknown
        self.notices = [] if notices is None else notices  # things the user should know that are not findings
        self.errors = [] if errors is None else errors  # inputs that could not be checked at all (exit code 2)
        # (rule, address, file, root) checked
        self.evaluations = [] if evaluations is None else evaluations
        self.fixed_baseline_entries = [] if fixed_baseline_entries is None else fixed_baseline_entries
        self.providers = [] if providers is None else providers  # per checked root: provider versions known
        self.roots = [] if roots is None else roots  # the root modules checked
        self.cwd = cwd  # absolute directory the display paths are relative to
        self.repo_root = repo_root  # absolute repository root (git top level, else cwd): SARIF and annotations
        self.settings = settings  # the settings file in force (.iaclint.toml, pyproject.toml), as shown
        self.base_ref = base_ref  # --base: the revision fix safety was decided against (fix hints name it)
        self.since = since  # --since: the revision findings were compared with (base_state)
        self.existing_hidden = existing_hidden  # --new-only: findings left out because they were there at `since`

    @property
    def rules(self) -> list[Any]:
        if self._rules is None:  # a run that read nothing loads no catalogue unless a format describes the rules
            from iaclint.engine.rules import all_rules

            self._rules = all_rules()
        return self._rules

    @rules.setter
    def rules(self, rules: list[Any] | None) -> None:
        self._rules = rules

    def repo_path(self, file: str) -> str:
        """A display path made relative to the repository root (absolute when outside it)."""
        from pathlib import Path

        path = Path(file)
        absolute = path if path.is_absolute() else Path(self.cwd or ".") / path
        try:
            return absolute.resolve().relative_to(Path(self.repo_root or self.cwd or ".").resolve()).as_posix()
        except (ValueError, OSError):
            return absolute.as_posix()

    def counts_toward_exit(self, finding: Finding) -> bool:
        if finding.suppression is not None:
            return False
        if finding.verdict is Verdict.UNKNOWN and not self.fail_on_unknown:
            return False
        if finding.baseline_state == "baselined":
            return False
        if finding.verdict is Verdict.PASS:
            return False
        return finding.severity.rank >= self.threshold.rank

    @property
    def failing(self) -> list[Finding]:
        return [f for f in self.findings if self.counts_toward_exit(f)]

    def summary(self) -> dict[str, Any]:
        by_verdict = {"fail": 0, "unknown": 0}
        by_severity = {s.value: 0 for s in Severity}
        suppressed = 0
        baselined = 0
        fixable = unsafe_fixable = new = existing = 0
        for f in self.findings:
            if f.suppression is not None:
                suppressed += 1
                continue
            if f.baseline_state == "baselined":
                baselined += 1
                continue
            by_verdict[f.verdict.value] += 1
            by_severity[f.severity.value] += 1
            if f.fix is not None and f.verdict is Verdict.FAIL:  # what `iaclint fix` applies, with or without
                fixable += f.fix.applicability is Applicability.SAFE  # --unsafe-fixes
                unsafe_fixable += f.fix.applicability is Applicability.UNSAFE
            new += f.base_state == "new"
            existing += f.base_state == "existing"
        return {
            "files": len(self.files_checked),
            "findings": len(self.findings) - suppressed - baselined,
            "fail": by_verdict["fail"],
            "unknown": by_verdict["unknown"],
            "suppressed": suppressed,
            "baselined": baselined,
            "fixable": fixable,
            "unsafe_fixable": unsafe_fixable,
            "new": new,
            "existing": existing + self.existing_hidden,
            "by_severity": by_severity,
            "failing": len(self.failing),
            "threshold": self.threshold.value,
            "fail_on_unknown": self.fail_on_unknown,
        }
