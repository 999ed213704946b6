"""Training the hit-decision models; never imported by the server."""
