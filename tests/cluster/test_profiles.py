"""Static checks of the shipped SLURM profile and its test overlay.

No cluster needed (not marked ``cluster``): these run everywhere and keep the
profile that CI exercises (shipped + overlay) honest about what it ships.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.cluster.test_slurm_workflow import (
    SHIPPED_PROFILE,
    SLURM_PROFILES,
    TEST_PROFILE,
    WORKFLOW_CPU_RULES,
    WORKFLOW_GPU_RULES,
    prepare_workdir,
    run_workflow,
)

GPU_RULES = WORKFLOW_GPU_RULES
CPU_RULES = WORKFLOW_CPU_RULES

# What the test overlay may change; anything else must come from the shipped
# profile, so CI runs what users run.
OVERLAY_KEYS = {
    "slurm-status-command",
    "slurm-init-seconds-before-status-checks",
    "latency-wait",
    "retries",
    "slurm-keep-successful-logs",
}


def load(profile: Path) -> dict:
    return yaml.safe_load((profile / "config.yaml").read_text())


def test_shipped_profile_shape():
    cfg = load(SHIPPED_PROFILE)
    assert cfg["executor"] == "slurm"
    assert isinstance(cfg["jobs"], int) and cfg["jobs"] > 0
    assert cfg["latency-wait"] == 60
    assert cfg["retries"] == 1
    # gpu is a global resource: no cap in the cluster profile
    assert "resources" not in cfg

    defaults = cfg["default-resources"]
    assert {"mem_mb", "runtime"} <= set(defaults)
    # site-specific values stay commented placeholders, so the profile works
    # unchanged on clusters with a default account/partition (and in CI)
    assert "slurm_account" not in defaults and "slurm_partition" not in defaults
    text = (SHIPPED_PROFILE / "config.yaml").read_text()
    assert "EDIT: your account" in text and "EDIT: your partition" in text
    assert "# slurm_account:" in text and "# slurm_partition:" in text

    per_rule = cfg["set-resources"]
    assert sorted(per_rule) == sorted(GPU_RULES + CPU_RULES)
    for rule, res in per_rule.items():
        assert {"mem_mb", "runtime"} <= set(res), rule
        assert "gres" not in res, f"{rule}: request GPUs with gpu OR gres, not both"
        if rule in GPU_RULES:
            assert res.get("gpu") == 1, rule
        else:
            assert "gpu" not in res, rule


def test_overlay_only_touches_test_settings():
    overlay = load(TEST_PROFILE)
    assert set(overlay) <= OVERLAY_KEYS, set(overlay) - OVERLAY_KEYS
    assert overlay["slurm-status-command"] == "squeue"


def test_snakemake_accepts_profiles(tmp_path, tiny_model_dir, workflow_snakefile):
    """Snakemake (with the SLURM plugin) parses shipped profile + overlay;
    a key it does not know would fail here."""
    workdir = prepare_workdir(tmp_path / "project", tiny_model_dir)
    proc = run_workflow(
        workdir, workflow_snakefile, ["--dry-run"], profile=SLURM_PROFILES, timeout_s=60
    )
    assert proc.returncode == 0, proc.stdout
    assert "Using profiles" in proc.stdout
