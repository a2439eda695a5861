"""Domain logic: pure Python, with its ports (repository, sender, clock) passed in."""
