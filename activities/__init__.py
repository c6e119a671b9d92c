"""Activities: the complaint's side effects, one each, idempotent under retry."""
