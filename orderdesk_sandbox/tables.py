"""The names of the order tables, as the reference Order Desk extractor names them.

One list for the sandbox's expected keys and for the tests, benchmark and demo that compare the
connector's output with them (the connector declares its own streams; the tests check the two agree).
"""

ORDER_TABLES = (
    "orders",
    "order_items",
    "order_items_variation_list",
    "order_checkout_data",
    "order_metadata",
    "order_discount_list",
    "order_notes",
    "order_shipments",
)
CHILD_TABLES = ORDER_TABLES[1:]
