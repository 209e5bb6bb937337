"""Writing: the plan from notes, drafting sections against exemplars, rewriting, prompt files."""
