# The scaling stress test of dual-subspace manifold steering, as a cached DAG.
# Stages, in the order data flows: model -> activations -> vectors -> generations ->
# perplexity / judgments -> metrics -> report. See README.md.

configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/model.smk"
include: "workflow/rules/activations.smk"
include: "workflow/rules/vectors.smk"
include: "workflow/rules/generations.smk"
include: "workflow/rules/perplexity.smk"
include: "workflow/rules/judgments.smk"
include: "workflow/rules/metrics.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        REPORT_OUTPUTS,
        rules.judge_off_target.output,
    default_target: True
