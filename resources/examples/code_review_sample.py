# The file that code_review.flow.json reviews by default: a small module with a few
# typical problems left in on purpose, so that the review has something to say.
"""Orders for a small web shop."""

import json
import logging

log = logging.getLogger(__name__)


class Order:
    """A customer's order."""

    def __init__(self, order_id, customer, lines=[]):
        self.order_id = order_id
        self.customer = customer
        self.lines = lines

    def total(self):
        """Sum of the line amounts, after discounts."""
        return sum(line["price"] * line["quantity"] for line in self.lines)

    def add_line(self, sku, price, quantity, discount, note, gift_wrap):
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        self.lines.append({"sku": sku, "price": price * (1 - discount), "quantity": quantity,
                           "note": note, "gift_wrap": gift_wrap})


def load_orders(path):
    """Reads orders from a JSON file; an unreadable file gives no orders."""
    try:
        with open(path) as f:
            data = json.load(f)
    except:
        log.warning("cannot read %s", path)
        return []
    return [Order(d["id"], d["customer"], d.get("lines", [])) for d in data]


def shipping_cost(order, country, express):
    """Shipping price for an order."""
    if country == "DE":
        if express:
            if order.total() > 100:
                for line in order.lines:
                    if line.get("gift_wrap"):
                        if line["quantity"] > 3:
                            return 9.5
                return 0.0
            return 12.0
        return 4.9
    elif country in ("AT", "CH"):
        return 14.0 if express else 7.5
    return 25.0
