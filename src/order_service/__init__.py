"""The order service: an event-driven order pipeline on AWS Lambda."""
