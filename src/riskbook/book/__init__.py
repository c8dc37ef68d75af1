"""The integration layer (seed 003): sleeves in, one risk-targeted, governed book out."""

from riskbook.book.config import BookConfig

__all__ = ["BookConfig"]
