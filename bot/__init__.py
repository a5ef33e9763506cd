"""Process wiring: settings, the `membot` command line, start and stop."""
