"""Benchmarks (not tests): speed, scale and cost of Chat Desktop beside baselines.

Each benchmark is one command (``python -m bench.latency``, ``bench.fanout``,
``bench.connections``, ``bench.polling_vs_ws``, ``bench.client``,
``bench.healing``, ``bench.reconnect_storm``, ``bench.client_memory``) that
measures our server or client *and* its baselines in the same run, because
this machine is shared and noisy: only ratios taken within one run mean anything.
``python -m bench.report`` runs them all and writes ``docs/benchmarks.md``.

The pieces they share:

- :mod:`bench.wire`: lean measuring clients that speak WebSocket, Socket.IO and
  MQTT directly on asyncio transports, so that the clients cost little beside
  the server under test;
- :mod:`bench.harness`: server subprocesses, CPU and memory readings of a
  process, worker processes that hold the receiving clients, tables;
- :mod:`bench.baselines`: the peers we measure against.

All load stays on 127.0.0.1, every run is bounded in size and time, and every
process a benchmark starts is stopped when it ends, fails or is interrupted.
"""
