#!/usr/bin/env python
"""Inbound processing: how fast ``python worker.py -Q inbound -c 2`` files mail, and how far from the parser's limit.

    python benchmarks/bench_inbound.py [--messages 2000] [--latency-samples 200] [--rate 10]

1. Parsing alone, one process: the bare ``email`` package (modern policy,
   body and attachments walked) and our ``parse_message``, messages/s.
2. Throughput: N realistic messages (plain, HTML, with a 40 KB attachment,
   replies) are taken in with the worker stopped; the worker is started and
   the rate is measured from the first message stored to the last.
3. Latency: messages delivered one by one at a steady rate to an idle
   worker; intake (``receive`` returned) to stored, p50/p99.

Uses REDIS_URL / DATABASE_URL when set, else the embedded default in a
temporary data directory.  Its own key namespace; its rows deleted afterwards.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))
DATA_DIR = tempfile.mkdtemp(prefix="bench-inbound-")
os.environ.setdefault("WORKER_DATA_DIR", DATA_DIR)
os.environ["WORKER_NAMESPACE"] = f"bench-inbound-{uuid.uuid4().hex[:8]}"
os.environ["WORKER_METRICS_PORT"] = "0"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")

import django  # noqa: E402

django.setup()

import broker  # noqa: E402
from core.mda.inbound import receive  # noqa: E402
from core.mda.parsing import parse_message  # noqa: E402
from core.models import InboundMessage, Mailbox, Message  # noqa: E402
from core.runtime import embedded_redis  # noqa: E402
from core.runtime.schema import migrate  # noqa: E402

WORDS = ("mail", "lunch", "report", "meeting", "invoice", "budget", "project", "review", "draft", "schedule")
MAILBOXES = [f"user{i}@bench.example" for i in range(10)]


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def generate(count: int, seed: int = 7) -> list[bytes]:
    """A mix close to a real inbox: 40 % plain, 25 % HTML, 20 % attachments, 15 % replies."""
    rng = random.Random(seed)
    messages = []
    for i in range(count):
        msg = EmailMessage()
        msg["From"] = f"Sender {i % 50} <sender{i % 50}@example.org>"
        msg["To"] = rng.choice(MAILBOXES)
        msg["Date"] = "Thu, 03 Dec 2026 10:00:00 +0000"
        msg["Message-ID"] = f"<bench-{i}@example.org>"
        kind = rng.random()
        subject = sentence(rng, 4)
        body = "\n\n".join(sentence(rng, 30) for _ in range(rng.randint(2, 8)))
        if kind < 0.15 and i > 0:
            parent = rng.randrange(i)
            subject = f"Re: subject {parent}"
            msg["In-Reply-To"] = f"<bench-{parent}@example.org>"
            msg["References"] = f"<bench-{parent}@example.org>"
        msg["Subject"] = subject
        msg.set_content(body)
        if 0.15 <= kind < 0.40:
            msg.add_alternative(
                "<html><body>" + "".join(f"<p>{p}</p>" for p in body.split("\n\n")) + "</body></html>", subtype="html"
            )
        elif 0.40 <= kind < 0.60:
            msg.add_attachment(rng.randbytes(40_000), maintype="application", subtype="pdf", filename=f"doc-{i}.pdf")
        messages.append(msg.as_bytes())
    return messages


def bare_parse(raw: bytes) -> None:
    msg = message_from_bytes(raw, policy=policy.default)
    body = msg.get_body(preferencelist=("plain", "html"))
    if body is not None:
        body.get_content()
    for part in msg.iter_attachments():
        part.get_content()


def rate(fn, corpus: list[bytes]) -> float:
    started = time.perf_counter()
    for raw in corpus:
        fn(raw)
    return len(corpus) / (time.perf_counter() - started)


def start_worker(processes: int) -> subprocess.Popen:
    log = open(Path(DATA_DIR) / "worker.log", "w")  # noqa: SIM115 - lives with the worker
    process = subprocess.Popen(
        [sys.executable, "worker.py", "-Q", "inbound", "-c", str(processes), "--disable-scheduler", "-l", "WARNING"],
        cwd=PROJECT_DIR,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return process


def wait_delivered(count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while InboundMessage.objects.filter(status=InboundMessage.Status.DELIVERED).count() < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out: {InboundMessage.objects.values_list('status', flat=True)[:5]}")
        time.sleep(0.05)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def reset() -> None:
    Message.objects.all().delete()
    InboundMessage.objects.all().delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--latency-samples", type=int, default=200)
    parser.add_argument("--rate", type=float, default=10.0, help="messages/s in the latency test")
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    migrate()
    for address in MAILBOXES:
        Mailbox.objects.get_or_create(address=address)
    reset()
    corpus = generate(args.messages)
    print(f"corpus: {len(corpus)} messages, {sum(map(len, corpus)) / len(corpus) / 1024:.1f} KiB average")
    bare, ours = rate(bare_parse, corpus), rate(parse_message, corpus)
    print(f"parsing alone, 1 process: email package {bare:,.0f} msg/s; parse_message {ours:,.0f} msg/s")

    started = time.perf_counter()
    for raw in corpus:
        receive(raw, [message_from_bytes(raw, policy=policy.compat32)["To"]])
    intake = len(corpus) / (time.perf_counter() - started)
    worker = start_worker(args.processes)
    try:
        wait_delivered(len(corpus), timeout=600)
        times = sorted(Message.objects.values_list("stored_at", flat=True))
        processed = (len(times) - 1) / (times[-1] - times[0]).total_seconds()
        print(f"intake (receive, 1 producer): {intake:,.0f} msg/s")
        print(
            f"processing with -c {args.processes}: {processed:,.0f} msg/s "
            f"= {processed / bare:.2f} x the bare parser's single-process rate"
        )
        reset()
        latencies = []
        for raw in corpus[: args.latency_samples]:
            row = receive(raw, [message_from_bytes(raw, policy=policy.compat32)["To"]])
            time.sleep(1 / args.rate)
            latencies.append(row.pk)
        wait_delivered(len(latencies), timeout=120)
        pairs = InboundMessage.objects.filter(pk__in=latencies).values_list("received_at", "message__stored_at")
        seconds = [(stored - received).total_seconds() * 1000 for received, stored in pairs if stored]
        print(
            f"intake to stored at {args.rate:g} msg/s: p50 {statistics.median(seconds):.0f} ms, "
            f"p99 {percentile(seconds, 0.99):.0f} ms ({len(seconds)} messages)"
        )
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(30)
        reset()
        if broker.redis_url() is None:
            embedded_redis.stop(broker.data_dir())
        shutil.rmtree(DATA_DIR, ignore_errors=True)


if __name__ == "__main__":
    main()
