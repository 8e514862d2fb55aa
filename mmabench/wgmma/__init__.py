"""Hopper's warpgroup MMA (wgmma.mma_async, sm_90a): instruction latency and throughput."""
