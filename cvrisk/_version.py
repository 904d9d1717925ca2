"""Version of the cvrisk package."""

__version__ = "0.1.0"
