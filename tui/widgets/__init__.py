"""Widgets of the live app: each shows a piece of the view-model it is given."""
