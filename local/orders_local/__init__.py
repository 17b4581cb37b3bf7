"""The docker-free local stack: runs template.yaml on one machine with no AWS account.

The deployed service never imports this package.
"""
