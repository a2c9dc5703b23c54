"""Use cases: verb-first functions. They flush, never commit; the request teardown,
job or CLI command commits at its edge."""
