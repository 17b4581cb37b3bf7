"""The engine's own exceptions: what stops a stack from starting, said so a user can act on it."""


class StartError(RuntimeError):
    """Something the stack needs is not there (a server, a port, a file): the message says what to do."""
