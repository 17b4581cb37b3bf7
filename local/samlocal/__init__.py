"""samlocal: a SAM template run whole on one machine, with no Docker.

The embedded AWS emulator, the template's resources provisioned in it, its functions run as
Lambda runs them, and their triggers.
"""
