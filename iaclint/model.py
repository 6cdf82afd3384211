"""The plain data that flows from the engine to the formatters: findings, fixes, the report."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
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


@dataclass(slots=True)
class Fix:
    """Edits that make a finding go away, and whether applying them is safe."""

    title: str
    applicability: Applicability
    edits: Sequence[Edit]  # a tuple once attached to a finding
    note: str = ""
    sources: dict[str, Any] | None = field(default=None, repr=False, compare=False)  # file -> SourceFile, for the diff

    @property
    def diff(self) -> str:
        """Made when a report shows it: a large file's thousands of fixes need no diff in text output."""
        if self.sources is None:
            return ""
        from iaclint.fixes.diff import unified_diff

        return unified_diff(self.sources, self.edits)

    def overlaps(self, other: "Fix") -> bool:
        return any(a.overlaps(b) for a in self.edits for b in other.edits)


@dataclass(slots=True)
class Suppression:
    """Why a finding is not counted: an inline comment, a peer tool's comment, the baseline."""

    kind: str  # "inline", "checkov", "trivy", "tfsec", "baseline", "config"
    justification: str
    location: Location | None = None
    expires: str | None = None


@dataclass(slots=True)
class Finding:
    """One rule's verdict on one resource, as every report format shows it."""

    rule_id: str
    rule_name: str
    severity: Severity
    verdict: Verdict
    address: str
    location: Location
    message: str
    origin: dict[str, Any] | None = None  # set for findings made without a context; see origin_info()
    related: Sequence[Related] = ()  # assigned whole, never appended to: an empty tuple is shared
    fix: Fix | None = None
    no_fix_reason: str = ""
    suppression: Suppression | None = None
    fingerprint: str = ""
    resource_type: str = ""
    baseline_state: str | None = None  # "baselined" when a baseline entry matches
    base_state: str | None = None  # --since REF: "new" (not there at REF) or "existing"
    context: Any = field(default=None, repr=False, compare=False)  # engine data for fixes; never output
    root: str = ""  # the root module the finding was found through
    source_line: str | None = None  # the text of location.line, for snippets (None: not a source file)
    caret: tuple[int, int] | None = None  # columns [start, end) of the offending value on that line
    end_line_text: str | None = None  # the text of location.end_line when it differs (byte columns for rdjson)

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


@dataclass
class Report:
    """A whole run: findings, the files checked, and what the user should know."""

    tool_version: str
    findings: list[Finding]
    files_checked: list[str]
    rules: list[Any]  # RuleMeta objects, for formatters that describe rules (SARIF)
    threshold: Severity = Severity.LOW
    fail_on_unknown: bool = False
    notices: list[str] = field(default_factory=list)  # things the user should know that are not findings
    errors: list[str] = field(default_factory=list)  # inputs that could not be checked at all (exit code 2)
    evaluations: list[tuple[str, str, str, str]] = field(default_factory=list)  # (rule, address, file, root) checked
    fixed_baseline_entries: list[dict[str, Any]] = field(default_factory=list)
    providers: list[dict[str, Any]] = field(default_factory=list)  # per checked root: provider versions known
    roots: list[str] = field(default_factory=list)  # the root modules checked
    cwd: str = ""  # absolute directory the display paths are relative to
    repo_root: str = ""  # absolute repository root (git top level, else cwd): SARIF and annotations use it
    settings: str | None = None  # the settings file in force (.iaclint.toml, pyproject.toml), as shown
    base_ref: str | None = None  # --base: the revision fix safety was decided against (fix hints name it)
    since: str | None = None  # --since: the revision findings were compared with (base_state)
    existing_hidden: int = 0  # --new-only: findings left out because they were there at `since`

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
