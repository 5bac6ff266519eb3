"""Where the embedded default data comes from, and the script that refreshes it."""
