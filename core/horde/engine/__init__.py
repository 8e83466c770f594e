"""The engine: scripts, scenarios and executors, VUs, and the metric pump."""
