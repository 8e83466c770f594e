"""Wire formats of k6's cloud protocol: a minimal protobuf reader and the v2 ``MetricSet``."""
