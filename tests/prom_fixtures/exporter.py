#!/usr/bin/env python3
"""A fixture GPU exporter: serves Prometheus exposition text shaped like a real exporter's, with
values that are a pure function of (node index, GPU index), so a test knows what Prometheus holds.

  exporter.py --format amd|nvidia|ascend|lens --nodes gpu-00000,gpu-00001 [--gpus 8] [--node-label hostname]
              [--port N | --expected]
  exporter.py --format storage [--port N | --expected]

Formats (metric and label names as the exporters write them):
  amd     device-metrics-exporter: gpu_gfx_activity, gpu_total_vram, gpu_used_vram, gpu_package_power,
          gpu_junction_temperature; labels gpu_id, hostname
  nvidia  dcgm-exporter: DCGM_FI_DEV_GPU_UTIL, DCGM_FI_DEV_FB_USED, DCGM_FI_DEV_FB_FREE,
          DCGM_FI_DEV_POWER_USAGE, DCGM_FI_DEV_GPU_TEMP; labels gpu, UUID, modelName and the node label
          given by --node-label (Hostname in dcgm-exporter's default config, hostname in others)
  ascend  npu-exporter: npu_chip_info_utilization, npu_chip_info_hbm_total_memory,
          npu_chip_info_hbm_used_memory, npu_chip_info_power, npu_chip_info_temperature; labels id,
          model_name, and `node` (what a scrape config's relabelling adds)
  lens    Primus Lens: gpu_utilization; labels gpu_id, primus_lens_node_name
  storage JuiceFS client gauges (juicefs_{used,total}_{space,inodes}, two clients per volume, two
          volumes) and counters growing at fixed rates (juicefs_fuse_{read,write}_size_bytes_sum,
          rdma_stat_{tx,rx}_bytes); --expected prints the cluster figures Lens computes from them
Every GPU format also serves series a consumer must skip: one GPU whose utilization is NaN (the last GPU
of the first node), and one series without a node label.

--expected prints, instead of serving, the figures a correct consumer reads, as JSON:
  [{"node": "gpu-00000", "gpu": 0, "utilization": 12.0 or null, "memory_mib": ..., "power": ..., "temperature": ...}, ...]
"""
import argparse
import http.server
import json
import sys


def figures(node_index, gpu):
    k = node_index * 64 + gpu
    return {
        "utilization": float((k * 37) % 100) + 0.5,
        "memory_mib": 65536 + 1024 * (k % 4),
        "used_mib": 1024 * (k % 7),
        "power": 300.0 + (k % 11) * 10.25,
        "temperature": 40.0 + (k % 13),
    }


def is_nan_gpu(node_index, gpu, gpus):
    return node_index == 0 and gpu == gpus - 1


def expected(nodes, gpus):
    out = []
    for i, node in enumerate(nodes):
        for g in range(gpus):
            f = figures(i, g)
            out.append({"node": node, "gpu": g,
                        "utilization": None if is_nan_gpu(i, g, gpus) else f["utilization"],
                        "memory_mib": f["memory_mib"], "power": f["power"], "temperature": f["temperature"]})
    return out


START = None
VOLUMES = {"home": (10000.0, 1000.0, 100.0, 10.0), "data": (50000.0, 5000.0, 500.0, 50.0)}  # space, used, inodes, used
RATES = {("juicefs_fuse_read_size_bytes_sum", "vol_name", "home"): 1e6,
         ("juicefs_fuse_write_size_bytes_sum", "vol_name", "data"): 2e6,
         ("rdma_stat_tx_bytes", "device", "mlx5_0"): 3e9, ("rdma_stat_tx_bytes", "device", "mlx5_1"): 1e9,
         ("rdma_stat_rx_bytes", "device", "mlx5_0"): 5e9}


def storage_expected():
    return {"total_space": sum(v[0] for v in VOLUMES.values()), "used_space": sum(v[1] for v in VOLUMES.values()),
            "total_inodes": sum(v[2] for v in VOLUMES.values()), "used_inodes": sum(v[3] for v in VOLUMES.values()),
            "read_bandwidth": 1e6, "write_bandwidth": 2e6, "total_tx": 4e9, "total_rx": 5e9}


def storage_exposition():
    import time
    lines = []
    for i, name in enumerate(["juicefs_total_space", "juicefs_used_space", "juicefs_total_inodes", "juicefs_used_inodes"]):
        lines.append("# TYPE %s gauge" % name)
        for vol, vals in VOLUMES.items():
            for client in ("a", "b"):  # two clients mount each volume: Lens averages them
                lines.append('%s{vol_name="%s",client="%s"} %r' % (name, vol, client, vals[i]))
    # Each counter sample carries the time its value was computed at (an explicit timestamp, which
    # Prometheus keeps), so a rate between two samples is exactly the fixture's rate however late a
    # scrape runs on a loaded machine.
    now_ms = int(time.time() * 1000)
    elapsed = now_ms / 1000.0 - START
    for (name, label, value), rate in RATES.items():
        lines.append("# TYPE %s counter" % name)
        lines.append('%s{%s="%s"} %r %d' % (name, label, value, 1e12 + rate * elapsed, now_ms))
    return ("\n".join(lines) + "\n").encode()


def fmt(v):
    return "NaN" if v != v else repr(float(v))


def exposition(kind, nodes, gpus, node_label):
    lines = []

    def family(name, help_text, series):
        lines.append("# HELP %s %s" % (name, help_text))
        lines.append("# TYPE %s gauge" % name)
        for labels, value in series:
            text = ",".join('%s="%s"' % (k, v) for k, v in labels)
            lines.append("%s{%s} %s" % (name, text, fmt(value)))

    def per_gpu(label_fn, key, transform=lambda f, i, g: None):
        series = []
        for i, node in enumerate(nodes):
            for g in range(gpus):
                f = figures(i, g)
                v = transform(f, i, g)
                if v is None:
                    v = f[key]
                if key == "utilization" and is_nan_gpu(i, g, gpus):
                    v = float("nan")
                series.append((label_fn(node, g), v))
        return series

    if kind == "amd":
        lab = lambda node, g: [("gpu_id", g), ("serial_number", "SN%s%d" % (node[-3:], g)),
                               ("card_model", "MI300X"), ("hostname", node)]
        util = per_gpu(lab, "utilization")
        util.append(([("gpu_id", 0), ("card_model", "MI300X")], 42.0))  # no node label: skipped
        family("gpu_gfx_activity", "GPU activity in percent", util)
        family("gpu_total_vram", "Total VRAM in MB", per_gpu(lab, "memory_mib"))
        family("gpu_used_vram", "Used VRAM in MB", per_gpu(lab, "used_mib"))
        family("gpu_package_power", "Package power in Watts", per_gpu(lab, "power"))
        family("gpu_junction_temperature", "Junction temperature in Celsius", per_gpu(lab, "temperature"))
    elif kind == "nvidia":
        lab = lambda node, g: [("gpu", g), ("UUID", "GPU-%s-%d" % (node, g)), ("device", "nvidia%d" % g),
                               ("modelName", "NVIDIA H100 80GB HBM3"), (node_label, node)]
        util = per_gpu(lab, "utilization")
        util.append(([("gpu", 0), ("modelName", "NVIDIA H100 80GB HBM3")], 42.0))
        family("DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %).", util)
        family("DCGM_FI_DEV_FB_USED", "Framebuffer memory used (in MiB).", per_gpu(lab, "used_mib"))
        family("DCGM_FI_DEV_FB_FREE", "Framebuffer memory free (in MiB).",
               per_gpu(lab, "memory_mib", lambda f, i, g: f["memory_mib"] - f["used_mib"]))
        family("DCGM_FI_DEV_POWER_USAGE", "Power draw (in W).", per_gpu(lab, "power"))
        family("DCGM_FI_DEV_GPU_TEMP", "GPU temperature (in C).", per_gpu(lab, "temperature"))
    elif kind == "ascend":
        lab = lambda node, g: [("id", g), ("model_name", "Ascend910B"), ("node", node)]
        util = per_gpu(lab, "utilization")
        util.append(([("id", 0), ("model_name", "Ascend910B")], 42.0))
        family("npu_chip_info_utilization", "the ai core utilization", util)
        family("npu_chip_info_hbm_total_memory", "the total memory of hbm (MB)", per_gpu(lab, "memory_mib"))
        family("npu_chip_info_hbm_used_memory", "the used memory of hbm (MB)", per_gpu(lab, "used_mib"))
        family("npu_chip_info_power", "the power of the chip (W)", per_gpu(lab, "power"))
        family("npu_chip_info_temperature", "the temperature of the chip", per_gpu(lab, "temperature"))
    elif kind == "lens":
        lab = lambda node, g: [("gpu_id", g), ("primus_lens_node_name", node)]
        util = per_gpu(lab, "utilization")
        util.append(([("gpu_id", 0)], 42.0))
        family("gpu_utilization", "GPU utilization recorded by Primus Lens", util)
    else:
        raise SystemExit("unknown format %r" % kind)
    return ("\n".join(lines) + "\n").encode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--format", required=True, choices=["amd", "nvidia", "ascend", "lens", "storage"])
    ap.add_argument("--nodes", default="")
    ap.add_argument("--gpus", type=int, default=8)
    ap.add_argument("--node-label", default="Hostname")
    ap.add_argument("--port", type=int)
    ap.add_argument("--expected", action="store_true")
    a = ap.parse_args()
    nodes = [n for n in a.nodes.split(",") if n]
    if a.expected:
        json.dump(storage_expected() if a.format == "storage" else expected(nodes, a.gpus), sys.stdout)
        return
    global START
    import time
    START = time.time()
    fixed = None if a.format == "storage" else exposition(a.format, nodes, a.gpus, a.node_label)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.split("?")[0] != "/metrics":
                self.send_error(404)
                return
            body = fixed if fixed is not None else storage_exposition()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    http.server.HTTPServer(("127.0.0.1", a.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
