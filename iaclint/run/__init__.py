"""Orchestration, the one layer above the rule engine: from paths and settings to a report or fixed files.

files -> graph (iaclint/graph) -> rules (iaclint/engine) -> findings -> fixes (iaclint/fixes) -> formatters.
Nothing below this package imports it.
"""
