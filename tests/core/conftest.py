def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: starts real processes and takes seconds (deselect with -m 'not slow')"
    )
