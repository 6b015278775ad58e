"""Allocation and transfers (智能调拨): daily DC replenishment and store-to-store moves from the forecast."""
