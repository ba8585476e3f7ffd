"""A pytest plugin the sanitizer runners load (-p sanitizer_profile).

Sanitized code runs several times slower, so hypothesis's per-example
deadline and its too-slow health check would fail tests that are correct.
The profile lifts both; everything else (example counts, derandomization)
stays as the tests set it. It is loaded before the test modules import, so
their @settings inherit from it.
"""
try:
    from hypothesis import HealthCheck, settings
except ImportError:  # hypothesis is a dev dependency; nothing to adjust
    pass
else:
    settings.register_profile(
        "sanitizers", deadline=None,
        suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile("sanitizers")
