"""Security building blocks: personal-data detection, client IPs and allow-lists, rate limits,
key delegation rules and the failed-authentication audit. Nothing here holds import-time state."""
