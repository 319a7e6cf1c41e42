"""Local HTTP servers on 127.0.0.1 that speak the outside APIs' wire formats, for connector tests."""
