"""newsworker: news feeds and article files into normalised article records in Redis."""

__version__ = "0.1.0"
