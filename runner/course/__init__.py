"""Reading a course from disk: YAML, schema, lesson semantics, paths."""
