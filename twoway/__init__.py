"""twoway: broadcast next to two-way engagement, per goal, in the terminal."""

__version__ = "0.1.0"
PROJECT_URL = "https://github.com/twoway-dashboard/twoway"
