"""WTForms classes, one module per feature (same names as views/)."""
