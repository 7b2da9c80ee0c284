"""Framework glue for the SDK. Each module imports its framework; this package imports none."""
