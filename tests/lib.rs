mod placeholder_none {}
