"""Ways to run a function: in worker processes over the Lambda Runtime API, or in-process."""
