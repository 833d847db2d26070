"""Every size a problem file, an answers file, a roster or an option may set, in one place.

Each limit is checked before any work starts, and exceeding one is exit code 2 naming it. They are
generous for teaching; the README's "Limits" section gives the measurement behind each.
"""

MAX_FILE_BYTES = 1_000_000
"""Problem, answers and roster files: the largest shipped problem is under 3 kB."""

MAX_YAML_DEPTH = 50
"""Nesting levels in a YAML file: a problem file needs 4 (randomisation.parameters.W1.choices)."""

MAX_TITLE_CHARS = 200
MAX_INSTRUCTIONS_CHARS = 5_000
MAX_ROSTER_NAME_CHARS = 100
MAX_ROSTER_ID_CHARS = 40
