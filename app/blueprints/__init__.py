"""The domains, one package each: routes, services, queries, models, templates of one concept."""
