"""When whoever reads our output stops reading (`openticket tickets list | head`): stop
quietly, with the status of a Unix tool that SIGPIPE ended, not an error about a pipe.

SIGPIPE itself stays ignored, as Python leaves it: its default action would also end the
process on a write to a closed socket (a server's connection), where an error is the answer.
"""

from __future__ import annotations

import os
import select
import signal
import sys

READER_GONE_EXIT = 128 + signal.SIGPIPE


def stdout_reader_gone() -> bool:
    """Whether stdout is a pipe or socket that its reader has closed: a broken pipe that is
    not stdout's (a socket of ours) is an error to report, even when stdout is a pipe too."""
    try:
        descriptor = sys.stdout.fileno()
    except (OSError, ValueError):
        return False
    poller = select.poll()
    poller.register(descriptor, select.POLLOUT)
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))


def reader_gone() -> int:
    """Send the rest of our output nowhere (the interpreter writes what is buffered once more
    on its way out) and give the exit status."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return READER_GONE_EXIT
