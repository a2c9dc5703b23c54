"""One blueprint per audience/feature: intake, partners, reports, admin, api."""
