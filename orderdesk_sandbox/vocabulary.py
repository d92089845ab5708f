"""Word lists the generator draws from.

Kept apart from the generator so that the generation logic reads as logic.
The lists deliberately mix plain ASCII with accents, CJK and emoji: the
connector must pass any text through unchanged.
"""

# Compact rows read better than one word per line.
# fmt: off
# (first name, last name): latin, accented, CJK and a few compound names.
FIRST_NAMES = (
    "Rita", "James", "Maria", "Wei", "Aisha", "Liam", "Olivia", "Noah", "Emma", "Lucas", "Sofía", "José", "Zoë",
    "Björn", "François", "Łukasz", "Søren", "Chloé", "Mateo", "Hannah", "Ava", "Ethan", "Mia", "Jürgen", "Anaïs",
    "Dana", "Kofi", "Priya", "Hiro", "Yuki", "花子", "伟", "Ngozi", "Siobhán", "Elif", "Oğuz", "Zoltán", "Ines",
    "Marta", "Tomás",
)
LAST_NAMES = (
    "Okafor", "Smith", "García", "Chen", "Khan", "Murphy", "Johnson", "Müller", "Dubois", "Rossi", "Nowak",
    "Jensen", "Kowalski", "Silva", "O'Brien", "Nguyen", "Tanaka", "Sato", "佐藤", "王", "Van der Berg", "Brontë",
    "Lefèvre", "Öztürk", "Hernández", "Schäfer", "Lindqvist", "Papadopoulos", "Fernández-Núñez", "Smith-Jones",
    "Abiodun", "Patel", "Kim", "Yılmaz", "Ó Súilleabháin",
)
COMPANIES = (
    "Okafor Design LLC", "Bluebird Café", "Nordlicht GmbH", "Les Ateliers Dupré", "Kowalski & Syn",
    "Sakura Trading 株式会社", "Trailhead Outfitters", "Green Leaf Co-op", "Müller Logistik AG", "Acme Widgets Inc.",
    "Café Olé S.L.", "Fjällräven Friends AB",
)

# (city, state, postal code, country, phone prefix) — one plausible address per entry.
PLACES = (
    ("Madison", "WI", "53703", "US", "608-555-"),
    ("Austin", "TX", "78701", "US", "512-555-"),
    ("Portland", "OR", "97205", "US", "503-555-"),
    ("Brooklyn", "NY", "11201", "US", "718-555-"),
    ("Denver", "CO", "80202", "US", "303-555-"),
    ("Chicago", "IL", "60607", "US", "312-555-"),
    ("Toronto", "ON", "M5V 2T6", "CA", "416-555-"),
    ("Montréal", "QC", "H2X 1Y4", "CA", "514-555-"),
    ("London", "", "EC1A 1BB", "GB", "+44 20 7946 "),
    ("München", "BY", "80331", "DE", "+49 89 "),
    ("Paris", "", "75003", "FR", "+33 1 "),
    ("東京都", "渋谷区", "150-0002", "JP", "+81 3-"),
    ("São Paulo", "SP", "01310-100", "BR", "+55 11 "),
    ("Sydney", "NSW", "2000", "AU", "+61 2 "),
    ("Zürich", "ZH", "8001", "Switzerland", "+41 44 "),
)
STREETS = (
    "Larkspur Ave", "Commerce Pkwy", "Main St", "Oak Street", "Rue de Rivoli", "Königstraße", "Elm Court",
    "Harbour Rd", "Calle Mayor", "道玄坂", "Av. Paulista", "George St", "Bahnhofstrasse",
)
ADDRESS2 = ("", "", "", "Apt 3B", "Suite 200", "Unit 9", "2F", "c/o Front Desk", "Bâtiment B")

EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example.com")

SOURCE_NAMES = ("Shopify", "Amazon", "Order Desk", "WooCommerce", "eBay", "Etsy", "BigCommerce", "Walmart")
SOURCE_WEIGHTS = (40, 20, 10, 12, 7, 6, 3, 2)

SHIPPING_METHODS = (
    "USPS Priority Mail", "USPS First Class", "UPS Ground", "UPS 2nd Day Air", "FedEx Home Delivery",
    "FedEx 2Day", "Standard Shipping", "Free Shipping", "DHL Express Worldwide",
)
# (carrier code, shipment method, tracking URL template)
CARRIERS = (
    ("USPS", "Priority Mail", "https://tools.usps.com/go/TrackConfirmAction?tLabels={}"),
    ("USPS", "First-Class Package", "https://tools.usps.com/go/TrackConfirmAction?tLabels={}"),
    ("UPS", "Ground", "https://www.ups.com/track?tracknum={}"),
    ("FedEx", "Home Delivery", "https://www.fedex.com/fedextrack/?trknbr={}"),
    ("DHL", "Express Worldwide", "https://www.dhl.com/en/express/tracking.html?AWB={}"),
)
SHIPMENT_STATUSES = ("delivered", "delivered", "delivered", "in_transit", "pre_transit", "out_for_delivery", "unknown", "")

PAYMENT_TYPES = ("Visa", "MasterCard", "American Express", "Discover", "PayPal", "Amazon Pay", "Shop Pay")
CARD_PAYMENT_TYPES = frozenset({"Visa", "MasterCard", "American Express", "Discover", "Shop Pay"})
PAYMENT_STATUSES = (
    "Captured", "Approved", "Authorized", "Fully Refunded", "Partially Refunded", "Pending", "Rejected",
    "Voided",
)
PAYMENT_STATUS_WEIGHTS = (70, 10, 6, 4, 3, 3, 2, 2)

# Default folders of a new store, then a few custom ones (one with an accent).
FOLDER_NEW, FOLDER_PREPARED, FOLDER_CLOSED, FOLDER_CANCELED = 31201, 31202, 31203, 31204
FOLDERS = {
    "31201": "New",
    "31202": "Prepared",
    "31203": "Closed",
    "31204": "Canceled",
    "31205": "Awaiting Stock",
    "31206": "Wholesale",
    "31207": "Returns / Exchanges",
    "31208": "Archivé 2023",
}
FOLDER_AWAITING_STOCK, FOLDER_WHOLESALE, FOLDER_RETURNS, FOLDER_ARCHIVE = 31205, 31206, 31207, 31208

DISCOUNTS = (
    ("Spring Sale", "SPRING10"),
    ("Welcome Offer", "WELCOME15"),
    ("Free Shipping", "FREESHIP"),
    ("Loyalty Reward", ""),
    ("Black Friday", "BF2024"),
    ("Remise fidélité", "MERCI5"),
    ("Staff Discount", "STAFF"),
)

NOTE_USERS = ("Dana (CS)", "Marco", "Warehouse Bot", "Aiko 佐藤", "Renée", "API")
NOTE_TEXTS = (
    "Customer asked to hold until Friday.", "Address verified by phone.",
    "Le client souhaite un emballage cadeau — merci !", "Replacement sent for damaged mug ☕", "お客様から配達日時の指定あり。",
    "Backordered item, ETA 2 weeks.", "Fraud check passed ✅", "Split shipment: part 1 of 2.",
    "Kunde bittet um Rückruf.", "Gift order 🎁 — no prices on the packing slip.",
)

CHECKOUT_FIELDS = (
    ("Gift Message", ("Happy anniversary!", "Joyeux anniversaire 🎂", "お誕生日おめでとう", "Congrats on the new job!")),
    ("Delivery Instructions", ("Leave at side door", "Call on arrival", "Bitte beim Nachbarn abgeben", "")),
    ("How did you hear about us?", ("Instagram", "A friend", "Google", "Podcast")),
    ("VAT Number", ("DE123456789", "FR40303265045", "GB980780684")),
)

UPDATE_SOURCES = ("Manual", "Shopify", "CSV Import", "API", "Amazon")
INVENTORY_LOCATIONS = ("", "A-03-2", "B-11-1", "C-02-4", "Overflow", "Lager 2")
FULFILLMENT_METHODS = ("", "", "", "", "", "", "Printful", "Dropship", "FBA")
CATEGORY_CODES = ("DEFAULT", "DEFAULT", "", "APPAREL", "HOME", "FOOD")

# Product catalogue: (name, SKU stem, price, weight, delivery type, variation axes).
SIZES = ("Small", "Medium", "Large", "XL")
SIZE_CODES = {"Small": "S", "Medium": "M", "Large": "L", "XL": "XL"}
COLORS = ("Green", "Black", "Navy", "Heather Grey", "Rouge")
COLOR_CODES = {"Green": "GRN", "Black": "BLK", "Navy": "NVY", "Heather Grey": "HGR", "Rouge": "RGE"}
PRODUCTS = (
    ("Trail Runner Sock", "TRS", 14.5, 0.25, "ship", ("Size", "Color")),
    ("Merino Beanie", "MBN", 29.0, 0.2, "ship", ("Color",)),
    ("Organic Cotton Tee", "OCT", 24.99, 0.4, "ship", ("Size", "Color")),
    ("Zip Hoodie", "ZHD", 64.0, 1.1, "ship", ("Size", "Color")),
    ("Canvas Tote Bag", "CTB", 19.0, 0.5, "ship", ("Color",)),
    ("Ceramic Pour-Over Mug", "CPM", 32.5, 1.2, "ship", ()),
    ("Café Crème Coffee Beans 1kg", "CCB", 27.75, 1.05, "ship", ()),
    ("抹茶 Matcha Tin 100g", "MAT", 21.4, 0.3, "ship", ()),
    ("Crème Brûlée Candle", "CBC", 18.25, 0.6, "ship", ()),
    ("Bamboo Cutting Board", "BCB", 36.0, 1.5, "ship", ("Size",)),
    ("Enamel Camp Mug", "ECM", 16.0, 0.35, "ship", ("Color",)),
    ("Water Bottle 750ml", "WB7", 22.0, 0.45, "ship", ("Color",)),
    ("Leather Wallet", "LWL", 45.0, 0.15, "ship", ("Color",)),
    ("Yoga Mat", "YGM", 58.0, 2.3, "ship", ("Color",)),
    ("Sticker Pack 🌲", "STK", 5.5, 0.05, "ship", ()),
    ("Gift Card $25", "GC25", 25, 0, "noship", ()),
    ("Trail Guide E-Book", "EBK", 9.99, 0, "download", ()),
    ("Pre-order: Winter Parka", "WPK", 189.0, 2.8, "future", ("Size",)),
)
# fmt: on
