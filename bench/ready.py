"""Shared by the bench scripts: waiting for a gateway to start."""
import time
import urllib.request


def wait_ready(port, tries=200):
    """Polls `/readyz` on loopback `port` until it answers (10 s by default)."""
    for _ in range(tries):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1)
            return
        except OSError:
            time.sleep(0.1)
