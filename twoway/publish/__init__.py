"""Views for people who never open a terminal: `twoway report` as one HTML file or Markdown.

Built from the `twoway.report` view-model only, never from the store; the core never
imports this package (import-linter contracts in pyproject.toml).
"""
