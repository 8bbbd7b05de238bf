"""An import-linter contract: other code reaches a domain only through its public module.

    [importlinter:contract:public-surfaces]
    type = public_surface
    domains =
        app.blueprints.*
    surface = public
    allowed_importers =
        app
        app.models

For every package a ``domains`` expression matches, a module outside it may import only
``<domain>.<surface>``; anything else in the domain (its services, models, routes, the package's
``__init__``) is private to it. ``allowed_importers`` are the entry points that assemble the app
(the factory registers every blueprint, ``app.models`` every table). A new domain under
``app/blueprints/`` is covered without a line changed here.
"""

from __future__ import annotations

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output
from importlinter.domain.helpers import module_expressions_to_modules


class PublicSurfaceContract(Contract):
    type_name = "public_surface"

    domains = fields.ListField(subfield=fields.ModuleExpressionField())
    surface = fields.StringField()
    allowed_importers = fields.ListField(subfield=fields.ModuleExpressionField(), required=False)

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        allowed = {m.name for m in module_expressions_to_modules(graph, self.allowed_importers or [])}
        links: list[tuple[str, str, tuple[int, ...]]] = []
        for domain in sorted(m.name for m in module_expressions_to_modules(graph, self.domains)):
            public = f"{domain}.{self.surface}"
            inside = {domain, *graph.find_descendants(domain)}
            for private in sorted(inside - {public}):
                for importer in sorted(graph.find_modules_that_directly_import(private)):
                    if importer in inside or importer in allowed:
                        continue
                    lines = tuple(d["line_number"] for d in
                                  graph.get_import_details(importer=importer, imported=private))
                    links.append((importer, private, lines))
        return ContractCheck(kept=not links, metadata={"links": links})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for importer, private, lines in check.metadata["links"]:
            output.print_error(f"- {importer} -> {private} (l.{', '.join(map(str, lines))})", bold=False)
            output.new_line()
        output.print_error(
            f"Import the domain's `{self.surface}` module instead, and add what you need to it.",
            bold=False)
        output.new_line()
