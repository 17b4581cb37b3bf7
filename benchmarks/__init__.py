"""`make bench`: cold start, memory, warm overhead and throughput, against honest baselines."""
