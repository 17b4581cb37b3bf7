"""The local console: watch requests travel, read e-mails, redrive dead letters, in a browser."""
