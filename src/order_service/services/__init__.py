"""Business logic. Services take their ports as arguments and import no AWS SDK."""
