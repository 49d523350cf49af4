"""Fixtures for the SLURM cluster tests (``pytest -m cluster tests/cluster``).

``slurm_cluster`` starts a throw-away single-node SLURM (munged, slurmctld,
slurmd with two fake GPUs, so that two GPU jobs can run at once, as they do in the
local reference run) under a temporary directory, once per session, and stops
every daemon it started, by pid, at the end. It skips, with the reason,
only where the daemons cannot run: not root, or SLURM/munge missing and not
installable with apt-get (.ci/install_slurm.sh).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.cluster import slurm

# As many as the local reference run's `--resources gpu=2` (tests/helpers/workflow_project.py):
# with one, the SLURM run's GPU jobs would wait for each other.
GPUS = 2


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "cluster: needs a throw-away SLURM cluster (root + slurm-wlm + munge)",
    )


@pytest.fixture(scope="session")
def slurm_cluster():
    reason = slurm.ensure_installed()
    if reason:
        pytest.skip(reason)
    # Not under pytest's basetemp: munged wants every directory above its
    # socket to be world-executable, and pytest's are 0700. A short path also
    # keeps the socket path under the 108-byte limit.
    root = Path(tempfile.mkdtemp(prefix="slurm-test-"))
    os.chmod(root, 0o755)
    cluster = slurm.SlurmCluster(root, gpus=GPUS)
    try:
        cluster.start()
        yield cluster
    finally:
        try:
            cluster.stop()
        finally:
            if os.environ.get("SLURM_TEST_KEEP"):
                print(f"\nSLURM test cluster files kept in {root}")
            else:
                shutil.rmtree(root, ignore_errors=True)
