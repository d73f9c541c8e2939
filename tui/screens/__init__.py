"""Screens of the live app: each owns its panels and reads the app's `report`."""
