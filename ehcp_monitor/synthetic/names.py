"""Invented names, places and staff for the synthetic caseload. Nothing here is a real person."""

FORENAMES = (
    "Alex", "Bea", "Cas", "Dara", "Eli", "Fen", "Gale", "Hollis", "Ira", "Jude", "Kit", "Lark",
    "Milo", "Nell", "Oren", "Pip", "Quin", "Rue", "Sol", "Tam", "Uma", "Vale", "Wren", "Xan",
    "Yael", "Zed", "Arlo", "Bryn", "Cleo", "Dex", "Esme", "Finn", "Greer", "Hal", "Isla", "Joss",
)
SURNAMES = (
    "Example", "Sample", "Specimen", "Placeholder", "Testwell", "Mockford", "Dummer", "Fictor",
    "Imagin", "Pseudon", "Madeup", "Notreal", "Inventa", "Synthe", "Pretendo", "Fabrik",
    "Nominal", "Exemplar", "Hypoth", "Modelle", "Proxi", "Standin", "Surrog", "Facsim",
)
# Postcode areas that do not exist in the UK (no real area starts with these letter pairs).
POSTCODE_AREAS = ("QA", "QB", "QC", "QD", "XA", "XB", "XC", "ZA", "ZB")
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")

TEAMS = ("North Team", "South Team", "East Team", "Post-16 Team")
# (case officer, team): a dozen invented officers across four teams.
OFFICERS = (
    ("Officer Aster", "North Team"), ("Officer Birch", "North Team"), ("Officer Cedar", "North Team"),
    ("Officer Dahlia", "South Team"), ("Officer Elm", "South Team"), ("Officer Fern", "South Team"),
    ("Officer Gorse", "East Team"), ("Officer Hazel", "East Team"), ("Officer Iris", "East Team"),
    ("Officer Juniper", "Post-16 Team"), ("Officer Kale", "Post-16 Team"), ("Officer Laurel", "Post-16 Team"),
)
REQUEST_SOURCES = ("parent", "school", "early_years", "health", "social_care", "young_person")
EXCEPTION_REASONS = (
    "school closure of 4+ weeks during advice",
    "exceptional personal circumstances",
    "family away from the area for 4+ weeks",
)
SEN2_ETHNICITIES = ("WBRI", "WOTH", "MWBC", "AIND", "APKN", "BAFR", "CHNE", "NOBT")
SEN2_NEEDS = ("SLCN", "ASD", "SEMH", "SPLD", "MLD", "SLD", "HI", "VI", "PD", "OTH")
