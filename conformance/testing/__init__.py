"""Testing integrations: the pytest plugin."""
