# SPDX-License-Identifier: MIT
"""Helpers shared by the scripted tests in this folder (stdlib only): a counter of checks
printing `ok`/`FAIL` lines and the closing `N passed, M failed`, a free loopback port, and a
deadline wait that returns as soon as its condition holds."""
import socket
import time


class Checks:
    """check(cond, what): prints ok/FAIL and counts; summary() prints the closing line and
    returns the exit status."""

    def __init__(self):
        self.passes = 0
        self.fails = []

    def __call__(self, cond, what):
        if cond:
            self.passes += 1
            print("ok   " + what)
        else:
            self.fails.append(what)
            print("FAIL " + what)
        return cond

    def summary(self):
        print("%d passed, %d failed" % (self.passes, len(self.fails)))
        return 1 if self.fails else 0


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, seconds, ignore=()):
    """True as soon as pred() is; after `seconds`, pred()'s last answer. Exceptions listed in
    `ignore` (e.g. a database still being created) count as False."""
    end = time.time() + seconds
    while time.time() < end:
        try:
            if pred():
                return True
        except ignore:
            pass
        time.sleep(0.1)
    return pred()
