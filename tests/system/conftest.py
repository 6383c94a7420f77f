import os

import pytest

from fwtest import Harness


@pytest.fixture
def harness(tmp_path):
    h = Harness(tmp_path)
    yield h
    h.close()


@pytest.fixture
def twilio():
    """The Twilio-compatible fake (paging.py) on loopback, closed after the test."""
    from paging import FakeTwilio
    t = FakeTwilio("ACtest", "demo-token")
    yield t
    t.close()


@pytest.fixture
def network(harness):
    """A factory for netns.Network (see netns.py): network(("a", "b", "c")). Skips when this
    process cannot create network namespaces (not root, no iproute2). Everything created is
    removed after the test, also when it fails; the harness is closed after the networks."""
    import netns
    reason = netns.unavailable_reason()
    if reason:
        # CI runs as root on a machine that can build namespaces: there, a test that cannot
        # run is a failure, not a silent skip (issue #10).
        if os.environ.get("CI") == "true":
            pytest.fail("network namespaces are required under CI=true: " + reason)
        pytest.skip(reason)
    made = []

    def make(site_names=("a", "b", "c")):
        net = netns.Network(site_names)
        made.append(net)
        return net
    yield make
    errors = []
    for net in reversed(made):
        try:
            net.close()
        except Exception as e:  # noqa: BLE001 - close the others too
            errors.append(str(e))
    assert not errors, errors
