"""The quality gate: Great Expectations suites that decide whether a build may be published."""
