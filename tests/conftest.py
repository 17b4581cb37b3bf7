from hypothesis import HealthCheck, settings

# A shared, noisy 2-core machine: timing-based health checks and deadlines would flake.
settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("default")
