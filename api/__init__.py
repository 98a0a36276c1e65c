"""The HTTP API: FastAPI routes over the same services as the app and the CLI.

No logic of its own: each route reads its request model, calls one core/reports service and
returns a typed response. ``api.app.create_app`` builds the application; ``api.server`` serves
it with uvicorn (``pineopt api``).
"""
