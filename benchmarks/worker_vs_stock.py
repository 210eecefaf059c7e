#!/usr/bin/env python
"""Our ``python worker.py`` against stock ``dramatiq``, side by side on one Redis.

    python benchmarks/worker_vs_stock.py [--messages 20000] [--processes 2] [--threads 4]

1. No-op throughput: the queue is filled first, then each worker drains it;
   the rate is measured from the first message done to the last.
2. Inbound pickup latency (enqueue to start), p50/p99: on an idle worker,
   then while the default and reindex queues hold thousands of 1-second tasks.

Uses REDIS_URL when set, else the embedded Redis.  BENCH_STOCK_DJANGO=1
loads Django into stock's workers too, to see what Django alone costs.  Each run has its own
key namespace, deleted afterwards.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import redis

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))


def redis_url() -> str:
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    from broker import data_dir
    from core.runtime.embedded_redis import ensure_running

    return f"unix://{ensure_running(data_dir())}"


class Contender:
    def __init__(
        self, name: str, stock: bool, url: str, processes: int, threads: int, queues: str, metrics: bool = True
    ) -> None:
        self.name, self.stock = name, stock
        self.namespace = f"bench-{name}-{uuid.uuid4().hex[:8]}"
        self.env = {
            **os.environ,
            "REDIS_URL": url,
            "BENCH_REDIS_URL": url,
            "WORKER_NAMESPACE": self.namespace,
            "BENCH_STOCK": "1" if stock else "0",
            "WORKER_TASK_MODULES": "benchmarks.bench_tasks",
            "DJANGO_SETTINGS_MODULE": "core.settings",
            # Ours serves metrics on by default; a free port each run, or off.
            "WORKER_METRICS_PORT": str(free_port()) if metrics else "0",
        }
        q = queues.split(",")
        if stock:
            self.command = [
                sys.executable,
                "-m",
                "dramatiq",
                "benchmarks.bench_tasks",
                "-p",
                str(processes),
                "-t",
                str(threads),
                "-Q",
                *q,
            ]
        else:
            self.command = [
                sys.executable,
                "worker.py",
                "-c",
                str(processes),
                "--threads",
                str(threads),
                "--disable-scheduler",
                "-Q",
                queues,
                "-l",
                "warning",
            ]
        self.process = None

    def producer(self):
        """The actors, bound to a broker in this contender's namespace."""
        names = ("REDIS_URL", "BENCH_REDIS_URL", "WORKER_NAMESPACE", "BENCH_STOCK", "DJANGO_SETTINGS_MODULE")
        env = {k: self.env[k] for k in names}
        return (
            f"import os, sys; sys.path.insert(0, {str(PROJECT_DIR)!r}); os.environ.update({env!r});"
            "import django; django.setup();"
            "from benchmarks import bench_tasks as t"
        )

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command,
            cwd=PROJECT_DIR,
            env=self.env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def run_in_producer(contender: Contender, body: str) -> str:
    """Run ``body`` in a fresh interpreter where ``t`` is the bench_tasks module."""
    script = contender.producer() + "\n" + body
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_DIR, env=contender.env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    return result.stdout


def clean(client: redis.Redis, namespace: str) -> None:
    keys = list(client.scan_iter(match=f"{namespace}:*", count=1000))
    for i in range(0, len(keys), 500):
        client.delete(*keys[i : i + 500])


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU of ``root`` and all its descendants, from /proc."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            stats[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += stats.get(pid, (0, 0))[1]
        todo += [child for child, (parent, _) in stats.items() if parent == pid]
    return total / CLOCK_TICKS


def throughput(client, contender: Contender, messages: int) -> tuple[float, float]:
    """(messages per second, CPU milliseconds per 1000 messages) once warm."""
    run_in_producer(contender, f"[t.noop.send() for _ in range({messages})]")
    key = f"{contender.namespace}:bench:count"
    contender.start()
    try:
        deadline = time.monotonic() + 600
        while int(client.get(key) or 0) == 0:
            if time.monotonic() > deadline:
                raise SystemExit(f"{contender.name}: nothing processed")
            time.sleep(0.005)
        t0, c0, cpu0 = time.monotonic(), int(client.get(key)), tree_cpu_seconds(contender.process.pid)
        while (count := int(client.get(key) or 0)) < messages:
            if time.monotonic() > deadline:
                raise SystemExit(f"{contender.name}: stalled at {count}")
            time.sleep(0.005)
        rate = (messages - c0) / (time.monotonic() - t0)
        cpu = tree_cpu_seconds(contender.process.pid) - cpu0
        return rate, cpu * 1_000_000 / (messages - c0)
    finally:
        contender.stop()
        clean(client, contender.namespace)


def latency(client, contender: Contender, samples: int, load: int) -> tuple[float, float]:
    key = f"{contender.namespace}:bench:latency"
    if load:
        run_in_producer(contender, f"[(t.slow_default.send(), t.slow_reindex.send()) for _ in range({load})]")
    contender.start()
    try:
        time.sleep(4)  # let every process boot and, under load, fill its threads
        body = (
            "import time, random\n"
            f"for _ in range({samples}):\n"
            "    time.sleep(random.uniform(0.15, 0.35)); t.inbound.send(time.time())\n"
        )
        run_in_producer(contender, body)
        deadline = time.monotonic() + 60
        while client.llen(key) < samples and time.monotonic() < deadline:
            time.sleep(0.05)
        values = sorted(float(v) for v in client.lrange(key, 0, -1))
        if len(values) < samples:
            return float("inf"), float("inf")
        return statistics.median(values), values[min(len(values) - 1, int(len(values) * 0.99))]
    finally:
        contender.stop()
        clean(client, contender.namespace)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--load", type=int, default=2000, help="1-second tasks on each of default and reindex")
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds, alternating who goes first")
    parser.add_argument("--only", choices=("throughput", "latency"), help="run one of the two parts")
    args = parser.parse_args()
    random.seed(1)
    url = redis_url()
    client = redis.Redis.from_url(url)
    print(f"redis: {url.split('@')[-1]}; {args.processes} processes x {args.threads} threads")

    def contenders(queues, with_metrics_off=False):
        found = [
            Contender("ours", False, url, args.processes, args.threads, queues),
            Contender("stock", True, url, args.processes, args.threads, queues),
        ]
        if with_metrics_off:
            found.insert(1, Contender("ours-metrics-off", False, url, args.processes, args.threads, queues, False))
        return found

    if args.only != "latency":
        compare_throughput(args, client, contenders)
    if args.only != "throughput":
        compare_latency(args, client, contenders)


def compare_throughput(args, client, contenders) -> None:
    """Rounds rotate who goes first; medians and per-round ratios against stock."""
    rates, cpus = {}, {}
    for r in range(args.rounds):
        lineup = contenders("default", with_metrics_off=True)
        lineup = lineup[r % len(lineup) :] + lineup[: r % len(lineup)]
        for c in lineup:
            rate, cpu = throughput(client, c, args.messages)
            rates.setdefault(c.name, []).append(rate)
            cpus.setdefault(c.name, []).append(cpu)
    stock_rate, stock_cpu = statistics.median(rates["stock"]), statistics.median(cpus["stock"])
    print(f"no-op throughput, {args.messages} messages, median of {args.rounds} rounds:")
    for name in rates:
        rate, cpu = statistics.median(rates[name]), statistics.median(cpus[name])
        by_round = ", ".join(f"{o / s:.2f}" for o, s in zip(rates[name], rates["stock"], strict=True))
        print(
            f"  {name:17} {rate:6,.0f}/s  ratio {rate / stock_rate:.2f} (by round: {by_round}); "
            f"CPU {cpu:.0f} ms per 1000 messages, ratio {cpu / stock_cpu:.2f}"
        )


def compare_latency(args, client, contenders) -> None:

    for label, load in (("idle", 0), (f"{args.load}+{args.load} 1-s tasks queued", args.load)):
        results = {}
        for c in contenders("inbound,default,reindex"):
            results[c.name] = latency(client, c, args.samples, load)
        (op50, op99), (sp50, sp99) = results["ours"], results["stock"]
        print(
            f"inbound pickup, {label}: ours p50 {op50 * 1000:.0f} ms p99 {op99 * 1000:.0f} ms; "
            f"stock p50 {sp50 * 1000:.0f} ms p99 {sp99 * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
