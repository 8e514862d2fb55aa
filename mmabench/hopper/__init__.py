"""Hopper (sm_90a) building blocks on the host side: TMA tensor maps (tensor_map.py), shared by
the TMA GEMM and the Hopper attention kernel."""
