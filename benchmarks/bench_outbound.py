#!/usr/bin/env python
"""Outbound throughput: messages sent per second by ``python worker.py -Q outbound -c 2`` to a local SMTP sink.

    python benchmarks/bench_outbound.py [--messages 1000] [--recipients 1] [--processes 2] [--threads 4]

The messages are queued first with ``core.mda.outbound.send`` (its own rate
is printed too), then the worker is started and drains the queue through
a real SMTP conversation each (aiosmtpd's ``Sink`` handler in a process of
its own); the rate is measured from the first recipient sent to the last,
from the rows' ``sent_at``.  Uses REDIS_URL and DATABASE_URL when set,
else a fresh embedded Redis and SQLite in a temporary directory.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.1)


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--recipients", type=int, default=1, help="recipients per message")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="bench-outbound-"))
    os.environ.setdefault("WORKER_DATA_DIR", str(scratch))
    os.environ["WORKER_NAMESPACE"] = f"bench-outbound-{uuid.uuid4().hex[:8]}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "core.settings"
    sink_port = free_port()
    os.environ["SMTP_HOST"], os.environ["SMTP_PORT"] = "127.0.0.1", str(sink_port)
    os.environ["WORKER_METRICS_PORT"] = str(free_port())  # on, as shipped

    import django

    django.setup()
    from broker import broker, describe_redis, redis_url
    from core.mda.outbound import send
    from core.models import OutboundMessage, OutboundRecipient
    from core.runtime.schema import describe_database, migrate

    migrate()
    sink = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{sink_port}", "-c", "aiosmtpd.handlers.Sink"],
        stderr=subprocess.DEVNULL,
    )
    worker = None
    ids: list[int] = []
    try:
        wait_for(lambda: listening(sink_port), 20, "the SMTP sink")
        started = time.perf_counter()
        for i in range(args.messages):
            to = [f"user{i}-{r}@example.org" for r in range(args.recipients)]
            ids.append(send("Bench <bench@example.org>", to, f"Benchmark {i}", "Hello from the benchmark.\n" * 20).pk)
        queued = time.perf_counter() - started
        total = args.messages * args.recipients
        sent = OutboundRecipient.objects.filter(message_id__in=ids, status="sent")

        log = tempfile.NamedTemporaryFile(prefix="bench-worker-", suffix=".log", delete=False)  # noqa: SIM115
        command = [sys.executable, "worker.py", "-Q", "outbound", "-c", str(args.processes)]
        command += ["--threads", str(args.threads), "--disable-scheduler"]
        worker = subprocess.Popen(command, cwd=PROJECT_DIR, stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: sent.count() >= total or worker.poll() is not None, 600, "every recipient sent")
        if worker.poll() is not None:
            raise SystemExit(f"the worker exited:\n{Path(log.name).read_text()}")
        times = sorted(sent.values_list("sent_at", flat=True))
        span = (times[-1] - times[0]).total_seconds()
        print(
            f"outbound: {args.messages} messages x {args.recipients} recipient(s), worker -c {args.processes} "
            f"--threads {args.threads}; broker {describe_redis()}; database {describe_database()}"
        )
        print(f"  send() (build, store, enqueue): {args.messages / queued:,.0f} messages/s")
        print(
            f"  worker to the SMTP sink:        {(args.messages - 1) / span:,.1f} messages/s "
            f"({(total - 1) / span:,.1f} recipients/s) over {span:.1f} s"
        )
    finally:
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(60)
        sink.terminate()
        sink.wait(10)
        OutboundMessage.objects.filter(pk__in=ids).delete()
        keys = list(broker.client.scan_iter(match=f"{broker.namespace}:*"))
        if keys:
            broker.client.delete(*keys)
        if redis_url() is None and os.environ["WORKER_DATA_DIR"] == str(scratch):
            from core.runtime.embedded_redis import stop

            stop(scratch)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
