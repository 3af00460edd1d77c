"""A BERT classifier's forward pass on packed tokens: no padding in the layers that cost.

A micro-batch of single-text requests mixes short and long texts; padded to its longest one, 40-55 %
of what a batch of 5-16 banking77 texts computes is padding. Here every dense layer (the QKV, output
and feed-forward projections: nearly all the FLOPs) runs on the real tokens only, laid end to end;
only the attention scores are computed in the padded layout, masked, and gathered back. It also calls
a dozen torch operations per layer instead of the Python module tree of ``transformers``.

It takes the parameters by their ``transformers`` names (``bert.encoder.layer.0.attention.self.query.
weight``, ...), so a full fine-tune passes its own and an adapter version passes the shared encoder's
with its merged weights swapped in. The result equals ``BertForSequenceClassification`` (tested);
models of another architecture are not handled here (``shape_of`` says None) and run through
``transformers`` itself. No Django here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "gelu": F.gelu,
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
}


@dataclass(frozen=True)
class BertShape:
    layers: int
    heads: int
    hidden: int
    eps: float
    activation: str


def shape_of(config: Any) -> BertShape | None:
    """The shape of a BERT sequence classifier this module computes, or None for anything else."""
    if getattr(config, "model_type", None) != "bert" or getattr(config, "is_decoder", False):
        return None
    if getattr(config, "position_embedding_type", "absolute") not in (None, "absolute"):
        return None
    if config.hidden_act not in _ACTIVATIONS:
        return None
    return BertShape(
        layers=config.num_hidden_layers,
        heads=config.num_attention_heads,
        hidden=config.hidden_size,
        eps=config.layer_norm_eps,
        activation=config.hidden_act,
    )


@dataclass(frozen=True)
class _Layer:
    qkv_w: torch.Tensor  # query, key and value projections in one matrix: one matmul instead of three
    qkv_b: torch.Tensor
    out_w: torch.Tensor
    out_b: torch.Tensor
    ln1_w: torch.Tensor
    ln1_b: torch.Tensor
    up_w: torch.Tensor
    up_b: torch.Tensor
    down_w: torch.Tensor
    down_b: torch.Tensor
    ln2_w: torch.Tensor
    ln2_b: torch.Tensor


@dataclass(frozen=True)
class Prepared:
    shape: BertShape
    word: torch.Tensor
    position: torch.Tensor
    token_type: torch.Tensor
    ln_w: torch.Tensor
    ln_b: torch.Tensor
    layers: list[_Layer]
    pooler_w: torch.Tensor
    pooler_b: torch.Tensor
    head_w: torch.Tensor
    head_b: torch.Tensor


def prepare(weights: Mapping[str, torch.Tensor], shape: BertShape) -> Prepared:
    """Arrange a classifier's parameters (``transformers`` names) for ``logits``; KeyError when one
    is missing (a model without a pooler, say)."""

    def w(name: str) -> torch.Tensor:
        return weights[name].detach()

    layers = []
    for i in range(shape.layers):
        p = f"bert.encoder.layer.{i}."
        attention = p + "attention.self."
        layers.append(
            _Layer(
                qkv_w=torch.cat([w(attention + part + ".weight") for part in ("query", "key", "value")]),
                qkv_b=torch.cat([w(attention + part + ".bias") for part in ("query", "key", "value")]),
                out_w=w(p + "attention.output.dense.weight"),
                out_b=w(p + "attention.output.dense.bias"),
                ln1_w=w(p + "attention.output.LayerNorm.weight"),
                ln1_b=w(p + "attention.output.LayerNorm.bias"),
                up_w=w(p + "intermediate.dense.weight"),
                up_b=w(p + "intermediate.dense.bias"),
                down_w=w(p + "output.dense.weight"),
                down_b=w(p + "output.dense.bias"),
                ln2_w=w(p + "output.LayerNorm.weight"),
                ln2_b=w(p + "output.LayerNorm.bias"),
            )
        )
    return Prepared(
        shape=shape,
        word=w("bert.embeddings.word_embeddings.weight"),
        position=w("bert.embeddings.position_embeddings.weight"),
        token_type=w("bert.embeddings.token_type_embeddings.weight")[0],
        ln_w=w("bert.embeddings.LayerNorm.weight"),
        ln_b=w("bert.embeddings.LayerNorm.bias"),
        layers=layers,
        pooler_w=w("bert.pooler.dense.weight"),
        pooler_b=w("bert.pooler.dense.bias"),
        head_w=w("classifier.weight"),
        head_b=w("classifier.bias"),
    )


def logits(model: Prepared, token_ids: list[list[int]], device: torch.device) -> torch.Tensor:
    """The classifier's logits for each text's token ids (special tokens included), one row each."""
    shape = model.shape
    lengths = [len(ids) for ids in token_ids]
    batch, width, hidden = len(token_ids), max(lengths), shape.hidden
    head_dim = hidden // shape.heads
    flat = torch.tensor([t for ids in token_ids for t in ids], dtype=torch.long, device=device)
    positions = torch.cat([torch.arange(n, device=device) for n in lengths])
    rows = torch.repeat_interleave(torch.arange(batch, device=device), torch.tensor(lengths, device=device))
    starts = torch.tensor([0, *lengths[:-1]], device=device).cumsum(0)
    # Keys beyond a text's length are masked; the padded query rows are computed and dropped.
    valid = torch.arange(width, device=device)[None, :] < torch.tensor(lengths, device=device)[:, None]
    mask = valid[:, None, None, :]
    packed_only = batch == 1

    activation = _ACTIVATIONS[shape.activation]
    h = model.word[flat] + model.position[positions] + model.token_type
    h = F.layer_norm(h, (hidden,), model.ln_w, model.ln_b, shape.eps)
    for layer in model.layers:
        qkv = F.linear(h, layer.qkv_w, layer.qkv_b)  # (tokens, 3 * hidden)
        if packed_only:
            padded = qkv[None]
        else:
            padded = qkv.new_zeros(batch, width, 3 * hidden)
            padded[rows, positions] = qkv
        q, k, v = padded.view(batch, width, 3, shape.heads, head_dim).permute(2, 0, 3, 1, 4)
        context = F.scaled_dot_product_attention(q, k, v, attn_mask=None if packed_only else mask)
        context = context.transpose(1, 2).reshape(batch, width, hidden)
        attended = context[0] if packed_only else context[rows, positions]
        h = F.layer_norm(
            F.linear(attended, layer.out_w, layer.out_b) + h, (hidden,), layer.ln1_w, layer.ln1_b, shape.eps
        )
        up = activation(F.linear(h, layer.up_w, layer.up_b))
        h = F.layer_norm(F.linear(up, layer.down_w, layer.down_b) + h, (hidden,), layer.ln2_w, layer.ln2_b, shape.eps)
    pooled = torch.tanh(F.linear(h[starts], model.pooler_w, model.pooler_b))
    return F.linear(pooled, model.head_w, model.head_b)
