"""CWMP on Flower (flwr 1.42): a client mod, a FedAvg wrapper, apps and drivers.

Install with the ``flower`` extra (``pip install -e '.[flower]'``). Nothing here
is imported by the rest of ``fl_validation``; this package is the only place
that imports ``flwr``, and importing it does no work (no data, no models).

- :mod:`.wire`      the sparse reply format (values + int32 indices + marker), encode/decode/check
- :mod:`.mod`       ``cwmp_mod``: client mod for train messages (selection via ``fl_validation.client.sparsify``)
- :mod:`.strategy`  ``CwmpFedAvg``: FedAvg wrapper that rebuilds dense updates and aggregates
                    with ``fl_validation.server.FedAvgAggregator``; sums energy and bytes
- :mod:`.apps`      ``make_server_app`` / ``make_client_app`` (the project's model, partition, profile)
- :mod:`.app`       module-level ``server_app`` / ``client_app`` for ``flwr run``
- :mod:`.driver`    ``run_inprocess`` (Ray-free, for tests) and ``run_ray`` (Flower's Ray simulation)
"""

FLWR_TESTED = "1.42"
