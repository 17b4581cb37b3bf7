"""Pydantic models: what the service accepts, stores and announces."""
