"""Entry points for ``flwr run`` (``[tool.flwr.app.components]``): the config comes from
``[tool.flwr.app.config]`` (FLConfig field names, e.g. ``method = "cwmp-l2"``, ``local-epochs = 2``)."""

from .apps import make_client_app, make_server_app

server_app = make_server_app()
client_app = make_client_app()
