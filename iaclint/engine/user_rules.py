"""Rules of the user's own: YAML files in rule folders (--rules-dir, the settings' `rules`), checked at load.

A rule folder is data from the user's repository, which in CI may be a stranger's pull request. So every
file is validated against rule.schema.json and a few checks the schema cannot express, and every problem
is reported with its file and line at once (a typo is a usage error, never a rule that silently says
"unknown"); and a `check:` is imported only from an installed package, never from the current directory,
the scanned tree or the rule folder, even when Python's import path includes them (`python -m`,
PYTHONPATH).
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import re
import site
import sysconfig
from pathlib import Path
from typing import Any, Callable, Iterator

from iaclint.engine.rules import BUILTIN_RULES, Rule, load_rules, rule_from_data
from iaclint.errors import RuleError
from iaclint.model import plural
from iaclint.schemas import schema
from iaclint.source import display_path

RULE_SUFFIXES = (".yaml", ".yml")
MAX_RULE_FILE = 1 << 20  # a rule is a page of YAML; anything larger is a mistake (or an attack)
ATTRIBUTE_TESTS = ("equals", "in", "present", "nonempty", "matches", "not_matches", "version_at_least", "key")
_ARGUMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*$")  # an argument, or a path into blocks
CONDITION_KEYS = {"attribute", "default", "default_why", "when_absent", "aws_managed_key", *ATTRIBUTE_TESTS}
# fix actions that build their edits from what a Python check found; a declarative rule has nothing to give them
CHECK_ONLY_FIXES = {"policy_statement", "repoint_key", "share_copy", "check_settings"}


class Problems:
    """Every problem found in the rule folders, reported together as 'file:line: message' in file order."""

    def __init__(self) -> None:
        self.found: list[tuple[str, int, str]] = []

    def add(self, path: Path, line: int | None, message: str) -> None:
        self.found.append((display_path(path), line or 0, message))

    def __len__(self) -> int:
        return len(self.found)

    def raise_any(self) -> None:
        if not self.found:
            return
        order = {path: number for number, (path, _, _) in reversed(list(enumerate(self.found)))}
        lines = [f"{path}:{line}: {message}" if line else f"{path}: {message}"
                 for path, line, message in sorted(self.found, key=lambda p: (order[p[0]], p[1]))]
        raise RuleError(f"{plural(len(lines), 'problem')} in rule files (see docs/writing-rules.md):\n  "
                        + "\n  ".join(lines))


def load_rule_folders(folders: list[Path], taken: list[Rule] | None = None) -> list[Rule]:
    """The rules in these folders (their *.yaml and *.yml files, not subfolders), every file validated.

    ``taken`` are rules already known (other folders loaded earlier); an id or name that one of them, a
    bundled rule or another file here already uses is an error. Raises RuleError listing every problem."""
    problems = Problems()
    rules: list[Rule] = []
    owners: dict[str, str] = {}
    for rule in [*load_rules(), *BUILTIN_RULES]:
        owners.setdefault(rule.id, "a bundled rule")
        owners.setdefault(rule.name, "a bundled rule")
    for rule in taken or ():
        owners.setdefault(rule.id, display_path(rule.path))
        owners.setdefault(rule.name, display_path(rule.path))
    for folder in folders:
        if not folder.is_dir():
            problems.add(folder, None, "no such rule folder" if not folder.exists() else "not a folder")
            continue
        files = sorted(p for p in folder.iterdir()
                       if p.suffix in RULE_SUFFIXES and not p.name.startswith(".") and p.is_file())
        if not files:
            problems.add(folder, None, "no rule files (*.yaml) in this folder")
        for path in files:
            rule = load_user_rule(path, problems, owners)
            if rule is not None:
                rules.append(rule)
    problems.raise_any()
    return rules


def load_user_rule(path: Path, problems: Problems, owners: dict[str, str] | None = None) -> Rule | None:
    """One rule file, or None when it has problems (added to ``problems``). ``owners`` maps the ids and
    names already in use to where; this rule's are added when it loads."""
    owners = owners if owners is not None else {}
    before = len(problems)
    document = _read_document(path, problems)
    if document is None:
        return None
    node, data = document
    lines = LineFinder(node)
    if not isinstance(data, dict):
        problems.add(path, lines.line(()), "a rule file holds a mapping (id, name, title, ...)")
        return None
    for where, message in schema_problems(data) + semantic_problems(data):
        problems.add(path, lines.line(where), message)
    if isinstance(data.get("id"), str) and path.stem != data["id"]:
        problems.add(path, lines.line(("id",)), f"the file name must be the rule id: {data['id']}{path.suffix}")
    for what in ("id", "name"):
        key = data.get(what)
        if isinstance(key, str) and key in owners:
            problems.add(path, lines.line((what,)), f"{what} {key} is already used by {owners[key]}")
    check = None
    if isinstance(data.get("check"), str) and len(problems) == before:
        try:
            check = import_installed_check(data["check"])
        except RuleError as exc:
            problems.add(path, lines.line(("check",)), str(exc))
    if len(problems) > before:
        return None
    owners[data["id"]] = owners[data["name"]] = display_path(path)
    rule = rule_from_data(data, path)
    rule.check = check
    rule.user = True
    return rule


# ---- reading YAML with lines ------------------------------------------------------------------------


def _read_document(path: Path, problems: Problems) -> tuple[Any, Any] | None:
    """(node tree, data) of a rule file; duplicate keys and aliases are problems, as PyYAML accepts both."""
    import yaml

    try:
        if path.stat().st_size > MAX_RULE_FILE:
            problems.add(path, None, f"larger than {MAX_RULE_FILE // 1024} KB: not a rule file")
            return None
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        problems.add(path, None, f"cannot read: {exc.strerror or exc}")
        return None
    except UnicodeDecodeError as exc:
        problems.add(path, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})")
        return None
    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        node = yaml.compose(text, Loader=loader_class)
        if node is None:
            problems.add(path, 1, "empty: a rule file holds a mapping (id, name, title, ...)")
            return None
        shape = list(_shape_problems(node))
        for line, message in shape:
            problems.add(path, line, message)
        if shape:
            return None
        data = loader_class("").construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problems.add(path, mark.line + 1 if mark else None, f"not valid YAML: {exc.problem or exc}")
        return None
    except yaml.YAMLError as exc:
        problems.add(path, None, f"not valid YAML: {exc}")
        return None
    except RecursionError:
        problems.add(path, None, "nested too deeply to read")
        return None
    return node, data


def _shape_problems(root) -> Iterator[tuple[int, str]]:
    """Duplicate keys (PyYAML keeps the last silently) and aliases (a rule needs none; they can make a
    small file expand into an enormous one)."""
    import yaml

    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            yield node.start_mark.line + 1, "anchors and aliases (&, *) are not allowed in rule files"
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: dict[Any, int] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in keys:
                        yield (key.start_mark.line + 1,
                               f"duplicate key {key.value!r} (first on line {keys[key.value]})")
                    keys.setdefault(key.value, key.start_mark.line + 1)
                stack += [value, key]
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value


class LineFinder:
    """The line of a place in the document, given as a path of keys and indexes (as jsonschema gives it)."""

    def __init__(self, root) -> None:
        self.root = root

    def line(self, where) -> int:
        import yaml

        node, line = self.root, self.root.start_mark.line + 1
        for step in where:
            if isinstance(node, yaml.MappingNode):
                match = next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == str(step)),
                             None)
                if match is None:
                    break
                line = match[0].start_mark.line + 1
                node = match[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
                node = node.value[step]
                line = node.start_mark.line + 1
            else:
                break
        return line


# ---- schema errors people can act on ----------------------------------------------------------------

_HINTS = {
    "id": "three capital letters and three digits, such as ACM001",
    "name": "lower-case words joined by hyphens, such as acm-certificate-key",
    "check": "module:function of an installed package",
}


def schema_problems(data: Any) -> list[tuple[tuple, str]]:
    """(path, message) for every way ``data`` breaks rule.schema.json, in document order."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema("rule.schema.json"))
    out: list[tuple[tuple, str]] = []
    for error in validator.iter_errors(data):
        out.extend(_explain(error))
    return sorted(set(out), key=lambda item: [str(p) for p in item[0]])


def _explain(error) -> list[tuple[tuple, str]]:
    where = tuple(error.absolute_path)
    label = _label(where)
    prefix = f"{label}: " if label else ""
    kind = error.validator
    if kind == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in allowed]
        return [(where + (key,), f"{prefix}unknown key {key!r}{_did_you_mean(str(key), allowed)}"
                 f" (known: {', '.join(allowed)})") for key in extra]
    if kind == "required":
        missing = re.match(r"'(.*)' is a required property", error.message)
        return [(where, f"{prefix}missing key {missing.group(1) if missing else error.message!r}")]
    if kind == "enum":
        choices = [str(c) for c in error.validator_value]
        return [(where, f"{prefix}{error.instance!r} is not one of {', '.join(choices)}"
                 f"{_did_you_mean(str(error.instance), choices)}")]
    if kind == "pattern":
        hint = _HINTS.get(str(where[-1]) if where else "")
        return [(where, f"{prefix}{error.instance!r} is not {hint}" if hint else f"{prefix}{error.message}")]
    if kind == "minProperties" and isinstance(error.instance, dict) and "attribute" in error.instance:
        return [(where, f"{prefix}a condition on {error.instance['attribute']!r} needs a test: "
                        f"{', '.join(ATTRIBUTE_TESTS)}")]
    if kind in ("oneOf", "anyOf"):
        return _explain_alternatives(error, where, prefix)
    return [(where, f"{prefix}{error.message}")]


def _explain_alternatives(error, where: tuple, prefix: str) -> list[tuple[tuple, str]]:
    """A oneOf failure: the errors of the one branch whose shape the instance has, else what the shapes are."""
    branches: dict[int, list] = {}
    for sub in error.context or ():
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    fitting = [number for number, errors in branches.items()
               if not any(not e.relative_path and e.validator in ("type", "required", "not") for e in errors)]
    if len(fitting) == 1:
        return [item for sub in branches[fitting[0]] for item in _explain(sub)]
    instance = error.instance
    keys = [k for branch in error.validator_value for k in branch.get("required", [])]
    if keys and isinstance(instance, dict):
        given = [k for k in keys if k in instance]
        if len(given) > 1:
            return [(where, f"{prefix}has {' and '.join(given)}: give only one")]
        if not given:
            return [(where, f"{prefix}needs one of: {', '.join(keys)}")]
    if keys:
        return [(where, f"{prefix}must be a mapping with one of: {', '.join(keys)}")]
    import jsonschema

    best = jsonschema.exceptions.best_match([error])
    return [(where, f"{prefix}{best.message}")]


def _label(where: tuple) -> str:
    out = ""
    for step in where:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


# ---- what the schema cannot say ---------------------------------------------------------------------


def semantic_problems(data: dict) -> list[tuple[tuple, str]]:
    """Conditions with no test or several (only the first would count), regexes that do not compile, and
    fix actions a declarative rule cannot feed."""
    out: list[tuple[tuple, str]] = []
    for where, condition in _conditions(data):
        if not isinstance(condition.get("attribute"), str):
            continue
        if not _ARGUMENT.match(condition["attribute"]):
            out.append((where + ("attribute",), f"{_label(where)}.attribute: {condition['attribute']!r} is not an "
                                                "argument name or a dotted path into nested blocks "
                                                "(encrypt_at_rest.enabled)"))
        tests = [t for t in ATTRIBUTE_TESTS if t in condition]
        if not tests and set(condition) <= CONDITION_KEYS:  # else the unknown key is the problem reported
            out.append((where, f"{_label(where)}: a condition on {condition['attribute']!r} needs a test: "
                               f"{', '.join(ATTRIBUTE_TESTS)}"))
        elif len(tests) > 1:
            out.append((where + (tests[1],), f"{_label(where)}: has {' and '.join(tests)}: give one test per "
                                              "condition (combine conditions with all or any)"))
        if "aws_managed_key" in condition and "key" not in condition:
            out.append((where + ("aws_managed_key",), f"{_label(where)}: aws_managed_key only goes with key"))
        for test in ("matches", "not_matches"):
            if not isinstance(condition.get(test), str):
                continue
            from iaclint.eval.convert import EvalError
            from iaclint.eval.regex import compile_pattern

            try:
                compile_pattern(condition[test])
            except EvalError as exc:
                out.append((where + (test,), f"{_label(where)}.{test}: not a regular expression: {exc}"))
    fix = data.get("fix") if isinstance(data.get("fix"), dict) else {}
    if "assert" in data and fix.get("action") in CHECK_ONLY_FIXES:
        out.append((("fix", "action"), f"fix.action: {fix['action']} needs what a Python check found; a rule "
                                       "with assert can use set_attribute or customer_managed_key"))
    if fix.get("action") == "set_attribute" and "value" not in fix:
        out.append((("fix",), "fix: set_attribute needs value: true or false"))
    reporters = data.get("reported_by")
    if isinstance(reporters, list):
        known = sorted(rule.id for rule in load_rules())
        for index, rule_id in enumerate(reporters):
            if isinstance(rule_id, str) and rule_id not in known:
                out.append((("reported_by", index), f"reported_by: {rule_id} is not a bundled rule"
                                                    f"{_did_you_mean(rule_id, known)}"))
    return out


def _conditions(data: dict) -> Iterator[tuple[tuple, dict]]:
    roots = [(("assert",), data.get("assert")), (("applies_when",), data.get("applies_when"))]
    if isinstance(data.get("fix"), dict):
        roots.append((("fix", "in_place_when"), data["fix"].get("in_place_when")))
    stack = [r for r in roots if isinstance(r[1], dict)]
    while stack:
        where, condition = stack.pop()
        yield where, condition
        for key in ("all", "any"):
            inner = condition.get(key)
            for number, item in enumerate(inner if isinstance(inner, list) else []):
                if isinstance(item, dict):
                    stack.append((where + (key, number), item))
        if isinstance(condition.get("not"), dict):
            stack.append((where + ("not",), condition["not"]))
        if isinstance(condition.get("default"), list):
            for number, entry in enumerate(condition["default"]):
                if isinstance(entry, dict) and isinstance(entry.get("when"), dict):
                    stack.append((where + ("default", number, "when"), entry["when"]))


# ---- checks only from installed packages ------------------------------------------------------------


def installed_locations() -> list[Path]:
    """Where installed packages live: this interpreter's site-packages (venv, user, system) and iaclint."""
    import iaclint

    places = {sysconfig.get_paths().get(key) for key in ("purelib", "platlib")}
    places.update(site.getsitepackages() if hasattr(site, "getsitepackages") else [])
    if site.ENABLE_USER_SITE:
        places.add(site.getusersitepackages())
    places.add(str(Path(iaclint.__file__).parent))
    return [Path(p).resolve() for p in places if p]


def _inside(path: Path, places: list[Path]) -> bool:
    return any(path == place or place in path.parents for place in places)


def import_installed_check(name: str) -> Callable:
    """A user rule's `module:function`, imported only when every package on the way is installed.

    Each level is located before it is imported: a module found in the current directory, the scanned
    tree or anywhere outside site-packages is refused without running any of its code."""
    module_name, _, func_name = name.partition(":")
    places = installed_locations()
    parts = module_name.split(".")
    for depth in range(1, len(parts) + 1):
        prefix = ".".join(parts[:depth])
        try:
            spec = importlib.util.find_spec(prefix)  # imports the parents, already found installed
        except (ImportError, ValueError) as exc:
            raise RuleError(f"check {name}: cannot find {prefix}: {exc}") from None
        if spec is None:
            raise RuleError(f"check {name}: no module {prefix} is installed")
        locations = [Path(spec.origin)] if spec.origin and spec.has_location else []
        locations += [Path(p) for p in (spec.submodule_search_locations or [])]
        outside = [p for p in locations if not _inside(p.resolve(), places)]
        if not locations or outside:
            shown = display_path(outside[0]) if outside else (spec.origin or "no file")
            raise RuleError(f"check {name}: {prefix} is not an installed package ({shown}); iaclint imports "
                            "checks only from installed packages, never from the scanned tree or a rules "
                            "folder")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # an installed module that fails to import: its own error, with the rule's name
        raise RuleError(f"check {name}: importing {module_name} failed: {exc.__class__.__name__}: {exc}") from None
    import inspect

    func = getattr(module, func_name, None)
    if not inspect.isfunction(func) or func.__module__ != module_name:
        raise RuleError(f"check {name}: {module_name} defines no function {func_name}")
    return func
