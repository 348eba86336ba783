"""The GPU (one each) of the instance types a GPU pool may name. Its own module, with no
imports, because the GPU benchmark (benchmarks/gpu_throughput.py) reads it on a GPU
machine that has the worker's packages only."""

GPUS = {
    "g4dn.xlarge": "T4",
    "g4dn.2xlarge": "T4",
    "g5.xlarge": "A10G",
    "g6.xlarge": "L4",
    "g6e.xlarge": "L40S",
}
