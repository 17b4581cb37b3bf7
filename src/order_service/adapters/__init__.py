"""Adapters: the AWS implementations of the service's ports."""
