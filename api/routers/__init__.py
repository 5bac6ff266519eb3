"""The service's routers, one per topic; :func:`api.app.create_app` assembles them."""
