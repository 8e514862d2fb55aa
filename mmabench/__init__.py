"""mmabench: tensor-core microbenchmarks, fp16 vs fp32 accumulation."""

__version__ = "0.1.0"
