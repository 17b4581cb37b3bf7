"""The local console: watch orders travel, read e-mails, redrive dead letters, in a browser."""
