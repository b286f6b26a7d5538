"""MODEL: model references and their pins, decoding defaults, the ``hf-batch/`` backend
and its registration with Inspect, and the tiny offline model."""
