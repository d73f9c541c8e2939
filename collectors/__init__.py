"""Platform collectors: one module per platform, registered under `twoway.collectors`."""
