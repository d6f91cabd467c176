import os
import sys

import numpy as np
import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))
torch.set_num_threads(2)


@pytest.fixture
def rng(request):
    """A generator seeded from the test's name, so each case is random but reproducible."""
    import zlib
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


@pytest.fixture(autouse=True)
def _work_in_a_scratch_folder(tmp_path_factory, monkeypatch):
    """Each test runs in its own empty working directory, so that what a command writes to the working
    directory by default (eval's pictures, say) never lands in the checkout; and with its own registry of
    running nnci commands, so that an nnci command running elsewhere on the machine (a training) changes
    neither the threads a test's command takes nor what it prints."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    monkeypatch.setenv("NNCI_RUNTIME_DIR", str(tmp_path_factory.mktemp("running")))


@pytest.fixture(scope="module")
def learn_url():
    """nnci learn's app, served on a free loopback port for the tests of one module; its base URL."""
    import threading
    import time
    import urllib.request

    from nnci.learn.app import bind, make_server
    sock = bind(0)
    server = make_server(quiet=True)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    for _ in range(200):
        try:
            urllib.request.urlopen(url + "/favicon.ico", timeout=1)
            break
        except OSError:
            time.sleep(0.05)
    yield url
    server.should_exit = True
    thread.join(10)
    sock.close()
