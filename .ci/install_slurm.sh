#!/usr/bin/env bash
# Install SLURM (slurmctld, slurmd, client tools) and MUNGE for the cluster test
# (tests/cluster/). Idempotent: does nothing if the binaries are already there.
# Needs root and apt (Debian/Ubuntu). Does not start any daemon: the pytest
# fixture in tests/cluster/conftest.py starts a throw-away cluster itself.
set -euo pipefail

need=(slurmctld slurmd sbatch squeue scontrol srun munged mungekey)
missing=()
for b in "${need[@]}"; do
    command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || missing+=("$b")
done
if [ "${#missing[@]}" -eq 0 ]; then
    echo "install_slurm: slurm and munge already installed"
    exit 0
fi
echo "install_slurm: missing ${missing[*]}; installing slurm-wlm munge"

if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    slurm-wlm munge >/dev/null
echo "install_slurm: installed $(/usr/sbin/slurmctld -V 2>/dev/null || echo slurm)"
