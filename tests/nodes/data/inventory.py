# ruff: noqa
# A deliberately flawed sample for tests/nodes/test_code.py: its functions,
# complexity and issues are asserted there line by line. Do not reformat.
"""Stock keeping for a small shop."""

import asyncio
import functools
import json


def load_items(path, defaults={}):
    """Reads items from a JSON file, falling back to defaults."""
    try:
        with open(path) as f:
            return json.load(f)
    except:
        return defaults


class Inventory:
    """Items in stock, by SKU."""

    def __init__(self, items=None):
        self._items = dict(items or {})

    @property
    def size(self):
        """How many SKUs are in stock."""
        return len(self._items)

    @size.setter
    def size(self, value):
        raise AttributeError("size is read-only")

    def add(self, sku, name, price, quantity, supplier, warehouse, tags=[]):
        if quantity <= 0 or price < 0:
            raise ValueError("bad quantity or price")
        self._items[sku] = {"name": name, "price": price, "quantity": quantity,
                            "supplier": supplier, "warehouse": warehouse, "tags": tags}

    @staticmethod
    def parse_sku(text):
        """Splits 'AB-123' into ('AB', 123)."""
        prefix, _, number = text.partition("-")
        return prefix, int(number)

    def cheapest(self, limit=3):
        """The `limit` cheapest items."""
        by_price = sorted(self._items.values(), key=lambda item: item["price"] if item else 0)
        return by_price[:limit]

    def report(self):
        """One line per item, low stock flagged."""
        def line(sku, item):
            flag = "LOW" if item["quantity"] < 5 else ""
            return f"{sku}: {item['name']} {flag}".strip()
        return "\n".join(line(s, i) for s, i in self._items.items())


@functools.lru_cache(maxsize=None)
def tax_rate(country):
    """VAT rate for a country code."""
    return {"DE": 0.19, "FR": 0.20}.get(country, 0.0)


async def sync_prices(inventory, client, *, retries=2, cache=dict()):
    """Fetches current prices for every item."""
    for attempt in range(retries):
        try:
            return await client.fetch_prices(list(inventory._items))
        except ConnectionError:
            await asyncio.sleep(attempt)
    return None


def export(inventory, path):
    with open(path, "w") as f:
        json.dump(inventory._items, f)
