"""Alert configurations: the view of the config topic, editing rules, secret masking."""
