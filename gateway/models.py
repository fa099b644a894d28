# The gateway app has no models of its own: RelayState lives in core (same table).
