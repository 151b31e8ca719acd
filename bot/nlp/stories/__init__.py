"""Stories: articles about one event, from any outlet, grouped as they are stored."""
