"""The errors that end a run with exit code 2; kept apart so the command line imports them cheaply."""


class UsageError(Exception):
    """Bad command-line input: exit code 2 with this message."""


class PlanError(Exception):
    """A plan that cannot be read: not JSON, not a plan, or a newer format. Exit code 2."""


class RuleError(Exception):
    """A rule file, or a rule named by the user, that is not valid; names what is wrong."""
