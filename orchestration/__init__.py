"""effekt: case-system extracts in, trustworthy effect-management indicators out."""
