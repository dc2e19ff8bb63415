"""Taking case-system deliveries in: file-level refusal, raw tables, row-level contract checks."""
