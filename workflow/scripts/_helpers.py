"""Run a workflow script outside Snakemake, for debugging (the PyPSA-Eur idiom).

At the end of a script::

    if "snakemake" not in globals():  # run by hand: python workflow/scripts/fit_vectors.py
        from _helpers import mock_snakemake
        snakemake = mock_snakemake("fit_vectors", method="dual", n="4")

``mock_snakemake`` builds the job of ``rule`` with those wildcards from the Snakefile and the
project's config (run it in the project folder), exactly as Snakemake would hand it to the
script: input, output, params, log, threads and resources. Only this file touches Snakemake.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def mock_snakemake(
    rule: str,
    *,
    snakefile: str | Path = REPO / "Snakefile",
    configfiles: list[str | Path] | None = None,
    **wildcards: str,
) -> Any:
    """The ``snakemake`` object a script of ``rule`` would get, for these wildcards.

    Args:
        rule: The rule's name, e.g. ``"generate_steered"``.
        snakefile: The workflow's Snakefile (default: this checkout's).
        configfiles: Extra config files, as ``--configfile`` would add them.
        **wildcards: The job's wildcards, e.g. ``method="dual", n="4"``.
    """
    from snakemake.api import SnakemakeApi
    from snakemake.dag import DAG
    from snakemake.iocontainers import Snakemake
    from snakemake.jobs import Job
    from snakemake.settings.types import (
        ConfigSettings,
        DAGSettings,
        OutputSettings,
        ResourceSettings,
        StorageSettings,
        WorkflowSettings,
    )

    with SnakemakeApi(OutputSettings()) as api:
        workflow_api = api.workflow(
            resource_settings=ResourceSettings(cores=1),
            config_settings=ConfigSettings(configfiles=[Path(f) for f in configfiles or []]),
            storage_settings=StorageSettings(),
            workflow_settings=WorkflowSettings(),
            snakefile=Path(snakefile),
            workdir=Path.cwd(),
        )
        workflow_api.dag(dag_settings=DAGSettings())  # parses the Snakefile
        workflow = workflow_api._workflow
        workflow.global_resources = {}
        target = workflow.get_rule(rule)
        job = Job(target, DAG(workflow, rules=[target]), wildcards_dict=dict(wildcards))
        return Snakemake(
            job.input,
            job.output,
            job.params,
            job.wildcards,
            job.threads,
            job.resources,
            job.log,
            workflow.config,
            job.rule.name,
            None,
        )
