"""piiscan: find and redact personal data in files, repositories and streams."""

__version__ = "0.1.0"
