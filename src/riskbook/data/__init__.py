"""Market data: the immutable `MarketData`, loaders, validation, the point-in-time view, the store."""

from riskbook.data.loaders import load_prices
from riskbook.data.market_data import MarketData
from riskbook.data.store import Store
from riskbook.data.validation import DataReport
from riskbook.data.view import PointInTimeView

__all__ = ["DataReport", "MarketData", "PointInTimeView", "Store", "load_prices"]
