#!/usr/bin/env python3
"""mpirun as a child, with a stop passed on at once (scripts/mpirun.sh runs this in its place).

SIGINT, SIGTERM or SIGHUP to this process (the pid a user or script holds for the job) become
SIGTERM to every rank on this host; a rank's stop reaches every rank at the next step (the
ranks agree on it each step, across hosts too), they write one checkpoint and exit, and mpirun
ends with them (docs/distributed.md). mpirun is not signalled: its own abort would kill ranks
before they agree (seen: rank 0 waiting 20 s for a rank mpirun had already ended).
Why not mpirun alone: started in the background of a script, mpirun inherits SIGINT ignored and
never stops the job; when it does handle a signal, it reached the ranks here up to 17 s later,
after many more epochs (docs/trust.md). Exit status: mpirun's.
Usage: mpirun-signals.py mpirun ARGS...
"""
import os
import signal
import subprocess
import sys


def descendants(pid):
    """Every process below pid on this host (ranks are mpirun's children, or its daemons')."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def is_rank(pid):
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return any(v.startswith(b"OMPI_COMM_WORLD_RANK=") for v in f.read().split(b"\0"))
    except OSError:
        return False


def main():
    # the child gets default dispositions (a background job's ignored SIGINT included)
    child = subprocess.Popen(sys.argv[1:], restore_signals=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))

    def stop(signum, _frame):
        for pid in descendants(child.pid):
            if is_rank(pid):
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, stop)
    while True:
        try:
            code = child.wait()
            break
        except InterruptedError:
            continue
    sys.exit(code if code >= 0 else 128 - code)


if __name__ == "__main__":
    main()
