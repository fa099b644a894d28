"""`make bench`: the gateway's cost per request and per stream, against a direct upstream."""
