"""Views: the Textual live app and the Rich snapshot; importing the package loads neither."""
