"""The quality gate: Great Expectations suites run inside the warehouse, before anything is published."""
