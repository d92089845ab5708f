"""Airbyte source connector for Order Desk (API v2)."""

__version__ = "0.1.0"

from .source import SourceOrderdesk  # noqa: E402 - the version must exist before the modules that read it

__all__ = ["SourceOrderdesk", "__version__"]
