"""The instruction suite: one tensor-core instruction form per kernel, latency and throughput."""
