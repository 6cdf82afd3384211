"""Terraform's override files (`override.tf`, `*_override.tf` and their `.tf.json` forms), merged as Terraform
merges them (configs/module.go mergeFile, module_merge.go, module_merge_body.go).

Override files are read after every other file of the module, one after another in lexical order, and each
top-level block in them amends the block of the same header already declared:

- an argument replaces the argument of the same name;
- nested blocks of a type replace *all* blocks of that type (and `dynamic` blocks of it); block types the
  override does not name stay;
- `lifecycle` is merged argument by argument; `locals` value by value;
- in `variable` and `output` blocks only arguments count (Terraform merges description, default, type,
  sensitive, nullable, value); their nested blocks (validation, precondition) stay the original's;
- `terraform { required_providers }` is merged provider by provider: an override's entry replaces that
  provider's entry wherever it was;
- a default `provider` block may be new; anything else must amend a block that exists, and `depends_on`,
  `moved` and `import` cannot be overridden: Terraform rejects those, iaclint reports them (CONFIG) and leaves
  them out.

Nothing here changes a parsed tree: the parse cache and the language server keep the trees they parsed, so a
merge builds new Block and Body nodes that hold the original nodes of both files. Each argument keeps its own
file and span, which is how an origin (and the fix) follows a value into the override file that won.
"""

from __future__ import annotations

from iaclint.hcl import ast

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from typing import Callable

    from iaclint.graph.config import ModuleConfig

    # report(file, node, message): a CONFIG diagnostic at the node
    Report = Callable[[str, ast.Node, str], None]


def is_override_name(name: str) -> bool:
    """override.tf, x_override.tf, and the .tf.json / .tofu / .tofu.json forms."""
    for suffix in (".tf.json", ".tofu.json", ".tf", ".tofu"):
        if name.endswith(suffix):
            stem = name[: -len(suffix)]
            return stem == "override" or stem.endswith("_override")
    return False


def _names(body: ast.Body) -> set[str]:
    """The argument names and block types an override body sets (a dynamic block stands for its type).

    In JSON an object may be an argument or a nested block, as the provider's schema says, and the schema is not
    at hand; both kinds share one namespace in a valid schema, so a name replaces whichever form the original
    used."""
    names: set[str] = set()
    for item in body.items:
        if isinstance(item, ast.Attribute):
            names.add(item.name)
        elif item.type == "dynamic" and item.labels:
            names.add(item.labels[0])
        else:
            names.add(item.type)
    return names


def _replaced(item: ast.Attribute | ast.Block, names: set[str]) -> bool:
    if isinstance(item, ast.Attribute):
        return item.name in names
    if item.type == "dynamic" and item.labels:
        return item.labels[0] in names
    return item.type in names


def merged(base: ast.Block, override: ast.Block, blocks: bool = True) -> ast.Block:
    """``base`` amended by ``override``, as a new block: arguments one by one, nested blocks type by type
    (``blocks`` False: the override's nested blocks are ignored, the original's stay). ``lifecycle`` is merged
    argument by argument. The result keeps the original's header and braces, so findings stay at the block
    Terraform reports, and insertions go into the original's text."""
    over_items = [i for i in override.body.items if blocks or isinstance(i, ast.Attribute)]
    lifecycle_base = [b for b in base.body.blocks if b.type == "lifecycle"]
    lifecycle_over = [b for b in over_items if isinstance(b, ast.Block) and b.type == "lifecycle"]
    if lifecycle_base and lifecycle_over:  # Terraform merges these settings one by one
        joined = merged(lifecycle_base[0], lifecycle_over[-1], blocks=False)
        over_items = [joined if i is lifecycle_over[-1] else i for i in over_items if i not in lifecycle_over[:-1]]
    names = _names(ast.Body(override.body.span, over_items))
    items = [i for i in base.body.items if not _replaced(i, names)] + over_items
    return ast.Block(base.span, base.type, list(base.labels), ast.Body(base.body.span, items), base.open_brace,
                     base.close_brace, base.header_span)


def _without(block: ast.Block, names: set[str], nested: bool = False) -> ast.Block:
    """A copy of a block without the arguments in ``names`` (``nested``: inside its `required_providers`)."""
    if nested:
        items = [_without(i, names) if isinstance(i, ast.Block) and i.type == "required_providers" else i
                 for i in block.body.items]
    else:
        items = [i for i in block.body.items if not (isinstance(i, ast.Attribute) and i.name in names)]
    return ast.Block(block.span, block.type, list(block.labels), ast.Body(block.body.span, items),
                     block.open_brace, block.close_brace, block.header_span)


def _provider_key(block: ast.Block) -> str:
    alias = block.attribute("alias")
    if alias is not None and isinstance(alias.expr, ast.Template) and alias.expr.is_literal:
        return f"{block.labels[0]}.{alias.expr.literal}"
    return block.labels[0]


def apply_override_file(config: "ModuleConfig", file: str, body: ast.Body, report: Report) -> None:
    """Merge every top-level block of one override file into the module's declarations."""
    for block in body.blocks:
        kind, labels = block.type, block.labels

        def missing(what: str) -> None:
            report(file, block, f"{what} is not declared in a file that is not an override file, so there is "
                                "nothing for this override to amend; terraform would reject it")

        if kind in ("resource", "data") and len(labels) == 2:
            mode = "managed" if kind == "resource" else "data"
            decl = config.resources.get((mode, labels[0], labels[1]))
            address = ("data." if mode == "data" else "") + f"{labels[0]}.{labels[1]}"
            if decl is None:
                missing(address)
                continue
            decl.block = merged(decl.block, _no_depends_on(file, block, report))
            decl.overrides = decl.overrides + (block,)
        elif kind == "variable" and len(labels) == 1:
            if labels[0] not in config.variables:
                missing(f'variable "{labels[0]}"')
                continue
            config.variables[labels[0]] = merged(config.variables[labels[0]], block, blocks=False)
        elif kind == "output" and len(labels) == 1:
            if labels[0] not in config.outputs:
                missing(f'output "{labels[0]}"')
                continue
            config.outputs[labels[0]] = merged(config.outputs[labels[0]], _no_depends_on(file, block, report),
                                               blocks=False)
        elif kind == "module" and len(labels) == 1:
            if labels[0] not in config.module_calls:
                missing(f'module "{labels[0]}"')
                continue
            base, where = config.module_calls[labels[0]]
            config.module_calls[labels[0]] = (merged(base, _no_depends_on(file, block, report)), where)
        elif kind == "locals":
            for attr in block.body.attributes:
                if attr.name not in config.locals:
                    report(file, attr, f"local.{attr.name} is not defined in a file that is not an override file, "
                                       "so there is nothing for this override to amend; terraform would reject it")
                    continue
                config.locals[attr.name] = attr  # the override's expression replaces the value, whole
        elif kind == "provider" and len(labels) == 1:
            key = _provider_key(block)
            if key in config.providers:
                config.providers[key] = merged(config.providers[key], block)
            elif "." in key:
                missing(f'provider "{labels[0]}" with alias "{key.split(".", 1)[1]}"')
            else:
                config.providers[key] = block  # an absent default configuration is an empty one
        elif kind == "terraform":
            replaced = {a.name for req in block.blocks("required_providers") for a in req.body.attributes}
            if replaced:
                config.terraform_blocks = [(_without(b, replaced, nested=True), f) for b, f in config.terraform_blocks]
            config.terraform_blocks.append((block, file))
        elif kind in ("moved", "import"):
            report(file, block, f"a {kind} block cannot be in an override file; terraform would reject it")


def _no_depends_on(file: str, block: ast.Block, report: Report) -> ast.Block:
    """The override block without `depends_on`, which Terraform refuses to override (reported)."""
    attr = block.attribute("depends_on")
    if attr is None:
        return block
    report(file, attr, "depends_on cannot be overridden; terraform would reject this override")
    return _without(block, {"depends_on"})
