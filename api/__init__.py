"""FHIR service: app factory, routes, service layer, stores, search."""
