"""Ready-made accelerators for the run-model tests and benchmark (not part of the package:
the lead maps the real hardware profiles onto :class:`estimator.training.Accelerator`).

Figures: ../shared/reference/hardware.md Sec. 1 and hardware_2026.md (dense peaks; memory;
HBM bandwidth; scale-up bandwidth per chip per direction = half the vendor's bidirectional
figure). Scale-out per chip per direction: one 400 Gb/s NIC per GPU (50 GB/s) for HGX-class
systems, 200 Gb/s (25 GB/s) for A100; TPU data-centre network 6.25 GB/s per chip, Trainium2
EFA 3.2 Tb/s per 16 chips (25 GB/s): judgements where the reference files give none.
"""

from estimator.training import Accelerator

GB = 1e9
GIB = 2.0**30


def _a(id_, family, peaks_tf, mem, bw_tb, dom, up_gb, out_gb, power):
    return Accelerator(id=id_, family=family,
                       peak_flops_per_s={k: v * 1e12 for k, v in peaks_tf.items()},
                       memory_bytes=mem, memory_bandwidth_bytes_per_s=bw_tb * 1e12,
                       scale_up_domain_chips=dom, scale_up_bytes_per_s=up_gb * GB,
                       scale_out_bytes_per_s=out_gb * GB, power_w=power)


A100_40 = _a("a100-40gb", "nvidia-ampere", {"bf16": 312}, 40 * GB, 1.555, 8, 300, 25, 400)
A100_80 = _a("a100-80gb", "nvidia-ampere", {"bf16": 312}, 80 * GB, 2.039, 8, 300, 25, 400)
H100 = _a("h100-sxm", "nvidia-hopper", {"bf16": 989.5, "fp8": 1979}, 80 * GB, 3.35, 8, 450,
          50, 700)
H100_PCIE = _a("h100-pcie", "nvidia-hopper", {"bf16": 756, "fp8": 1513}, 80 * GB, 2.0, 2, 300,
               25, 350)
H800 = _a("h800", "nvidia-hopper", {"bf16": 989.5, "fp8": 1979}, 80 * GB, 3.35, 8, 200, 50, 700)
H200 = _a("h200", "nvidia-hopper", {"bf16": 989.5, "fp8": 1979}, 141 * GB, 4.8, 8, 450, 50, 700)
B200 = _a("b200", "nvidia-blackwell", {"bf16": 2250, "fp8": 4500, "fp4": 9000}, 180 * GB, 8.0,
          8, 900, 50, 1000)
GB200 = _a("gb200", "nvidia-blackwell", {"bf16": 2500, "fp8": 5000, "fp4": 10000}, 186 * GB,
           8.0, 72, 900, 50, 1200)
B300 = _a("b300", "nvidia-blackwell", {"bf16": 2500, "fp8": 5000, "fp4": 14000}, 270 * GB, 8.0,
          8, 900, 50, 1100)
GB300 = _a("gb300", "nvidia-blackwell", {"bf16": 2500, "fp8": 5000, "fp4": 15000}, 279 * GB,
           8.0, 72, 900, 50, 1400)
TPU_V4 = _a("tpu-v4", "google-tpu-v4", {"bf16": 275}, 32 * GIB, 1.2, 4096, 270, 6.25, 192)
TPU_V5E = _a("tpu-v5e", "google-tpu", {"bf16": 197}, 16 * GB, 0.819, 256, 200, 6.25, 200)
TPU_V5P = _a("tpu-v5p", "google-tpu", {"bf16": 459}, 95 * GB, 2.765, 8960, 600, 6.25, 320)
TPU_V6E = _a("tpu-v6e", "google-tpu", {"bf16": 918}, 32 * GIB, 1.638, 256, 400, 6.25, 300)
TPU_V7 = _a("tpu-v7", "google-tpu", {"bf16": 2307, "fp8": 4614}, 192 * GIB, 7.38, 9216, 600,
            6.25, 600)
MI300X = _a("mi300x", "amd-cdna", {"bf16": 1307.4, "fp8": 2614.9}, 192 * GB, 5.3, 8, 448, 50,
            750)
MI325X = _a("mi325x", "amd-cdna", {"bf16": 1307, "fp8": 2615}, 256 * GB, 6.0, 8, 448, 50, 1000)
MI355X = _a("mi355x", "amd-cdna", {"bf16": 2500, "fp8": 5000, "fp4": 10100}, 288 * GB, 8.0, 8,
            448, 50, 1400)
TRAINIUM2 = _a("trainium2", "aws-trainium", {"bf16": 655, "fp8": 1287}, 96 * GIB, 2.9, 16, 640,
               25, 500)

ALL = (A100_40, A100_80, H100, H100_PCIE, H800, H200, B200, GB200, B300, GB300, TPU_V4, TPU_V5E,
       TPU_V5P, TPU_V6E, TPU_V7, MI300X, MI325X, MI355X, TRAINIUM2)
