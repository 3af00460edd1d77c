"""A BERT classifier's forward pass on packed tokens: no padding in the layers that cost.

A micro-batch of single-text requests mixes short and long texts; padded to its longest one, a large
share of what it computes is padding. Here every dense layer (the QKV, output and feed-forward
projections: nearly all the FLOPs) runs on the real tokens only, laid end to end; only the attention
scores are computed in the padded layout, masked, and gathered back.

The forward is one TorchScript function: a dozen torch operations per layer instead of the Python
module tree of ``transformers``, run in a single call that does not hold the GIL. That matters in a
web process, where request threads run Python beside the thread that runs the model: called op by op
from Python, the model thread waits for the GIL (up to the interpreter's switch interval) after every
operation, and one busy Python thread beside it made a forward many times slower; scripted, a small
fraction of that.

It takes the parameters by their ``transformers`` names (``bert.encoder.layer.0.attention.self.query.
weight``, ...), so a full fine-tune passes its own and an adapter version passes the shared encoder's
with its merged weights swapped in. The result equals ``BertForSequenceClassification`` (tested);
models of another architecture are not handled here (``shape_of`` says None) and run through
``transformers`` itself. No Django here.

In bf16 only the matrix products run in bf16 (the cores' bf16 units: AMX or AVX-512-BF16); the
residual stream, every LayerNorm, the pooler and the classifier head stay in float32, as autocast
would have them. Rounding the residual stream to bf16 after every layer, as a model cast whole to
bf16 does, flipped enough banking77 validation texts' labels against fp32 to fail the parity check
(``MIN_AGREEMENT``), so that version served in fp32, much slower; with it in float32, none flipped and
the scores moved less, for a little more time. On a CPU the bf16 matrices are laid out once in oneDNN's
blocked format (``pack``) and the feed-forward's activation runs fused into its first product.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

logger = logging.getLogger(__name__)

# transformers' activation names -> what the scripted forward computes: GELU (exact or tanh) or ReLU.
_ACTIVATIONS: dict[str, str] = {
    "gelu": "none",
    "gelu_new": "tanh",
    "gelu_pytorch_tanh": "tanh",
    "relu": "relu",
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
class Prepared:
    shape: BertShape
    word: torch.Tensor
    position: torch.Tensor
    token_type: torch.Tensor
    ln_w: torch.Tensor
    ln_b: torch.Tensor
    # Per layer, in _LAYER's order: QKV weight and bias (query, key and value in one matrix: one
    # matmul instead of three), attention output, its LayerNorm, feed-forward up and down, their
    # LayerNorm.
    layers: list[torch.Tensor]
    pooler_w: torch.Tensor
    pooler_b: torch.Tensor
    head_w: torch.Tensor
    head_b: torch.Tensor

    @property
    def nbytes(self) -> int:
        tensors = [self.word, self.position, self.token_type, self.ln_w, self.ln_b, *self.layers]
        tensors += [self.pooler_w, self.pooler_b, self.head_w, self.head_b]
        return sum(t.numel() * t.element_size() for t in tensors)


# Each layer's tensors: the parameters (under bert.encoder.layer.N.) each is made of, concatenated,
# and whether it stays float32 whatever the precision (normalization) or is a matrix product's.
_LAYER: list[tuple[tuple[str, ...], bool]] = [
    (("attention.self.query.weight", "attention.self.key.weight", "attention.self.value.weight"), False),
    (("attention.self.query.bias", "attention.self.key.bias", "attention.self.value.bias"), False),
    (("attention.output.dense.weight",), False),
    (("attention.output.dense.bias",), False),
    (("attention.output.LayerNorm.weight",), True),
    (("attention.output.LayerNorm.bias",), True),
    (("intermediate.dense.weight",), False),
    (("intermediate.dense.bias",), False),
    (("output.dense.weight",), False),
    (("output.dense.bias",), False),
    (("output.LayerNorm.weight",), True),
    (("output.LayerNorm.bias",), True),
]
_MATRICES = (0, 2, 6, 8)  # the layer tensors that are matrix products' weights
# The other fields: parameter, float32 whatever the precision.
_TOP: dict[str, tuple[str, bool]] = {
    "word": ("bert.embeddings.word_embeddings.weight", False),
    "position": ("bert.embeddings.position_embeddings.weight", False),
    "token_type": ("bert.embeddings.token_type_embeddings.weight", False),
    "ln_w": ("bert.embeddings.LayerNorm.weight", True),
    "ln_b": ("bert.embeddings.LayerNorm.bias", True),
    "pooler_w": ("bert.pooler.dense.weight", True),
    "pooler_b": ("bert.pooler.dense.bias", True),
    "head_w": ("classifier.weight", True),
    "head_b": ("classifier.bias", True),
}


@functools.cache
def _layer_names(layers: int) -> list[tuple[tuple[str, ...], bool]]:
    """_LAYER with full parameter names, for each of ``layers`` layers in turn."""
    return [
        (tuple(f"bert.encoder.layer.{i}.{name}" for name in names), small)
        for i in range(layers)
        for names, small in _LAYER
    ]


def _tensor(weights: Mapping[str, torch.Tensor], names: Sequence[str], small: bool) -> torch.Tensor:
    parts = [weights[name].detach() for name in names]
    tensor = parts[0] if len(parts) == 1 else torch.cat(parts)
    return tensor.float() if small else tensor


def _top(weights: Mapping[str, torch.Tensor], field: str) -> torch.Tensor:
    name, small = _TOP[field]
    tensor = _tensor(weights, [name], small)
    return tensor[0] if field == "token_type" else tensor  # segment A's embedding: every text is one


def prepare(weights: Mapping[str, torch.Tensor], shape: BertShape) -> Prepared:
    """Arrange a classifier's parameters (``transformers`` names) for ``logits``; KeyError when one
    is missing (a model without a pooler, say). Normalization and head are float32 whatever the
    precision."""
    layers = [_tensor(weights, names, small) for names, small in _layer_names(shape.layers)]
    return Prepared(shape=shape, layers=layers, **{field: _top(weights, field) for field in _TOP})


def override(model: Prepared, weights: Mapping[str, torch.Tensor], changed: Mapping[str, torch.Tensor]) -> Prepared:
    """``model``, prepared (and perhaps packed) from ``weights``, with the parameters in ``changed``
    replaced: only the tensors they touch are made anew, the rest shared as they are. How an adapter
    version runs on its shared encoder without a copy of it."""
    merged = {**weights, **changed}
    layers = list(model.layers)
    for j, (names, small) in enumerate(_layer_names(model.shape.layers)):
        if any(name in changed for name in names):
            layers[j] = _tensor(merged, names, small)
    fields: dict[str, Any] = {field: _top(merged, field) for field, (name, _) in _TOP.items() if name in changed}
    return dataclasses.replace(model, layers=layers, **fields)


def pack(model: Prepared) -> Prepared:
    """``model`` with its encoder's matrices in oneDNN's blocked layout, where that applies: bf16 on a
    CPU. Otherwise oneDNN lays each weight out anew in every matrix product, which costs most where the
    weights are streamed once for little work: the forward of a few short texts (large batches much
    less). The activation after the feed-forward's first product runs fused into it."""
    first = model.layers[0] if model.layers else None
    if not _ONEDNN or first is None or first.dtype != torch.bfloat16 or first.device.type != "cpu":
        return model
    try:
        layers = [
            torch.ops.mkldnn._reorder_linear_weight(t, 64) if j % len(_LAYER) in _MATRICES else t
            for j, t in enumerate(model.layers)
        ]
    except RuntimeError:  # a build of torch without these kernels: the plain layout serves
        logger.warning("oneDNN could not pack the model's weights; they serve unpacked", exc_info=True)
        return model
    return dataclasses.replace(model, layers=layers)


def logits(model: Prepared, token_ids: list[list[int]], device: torch.device, output: str = "logits") -> torch.Tensor:
    """The classifier's logits for each text's token ids (special tokens included), one row each, in
    float32; with ``output`` "softmax" or "sigmoid", its label scores instead."""
    if output not in ("logits", "softmax", "sigmoid"):
        raise ValueError(f"output must be logits, softmax or sigmoid, not {output!r}")
    shape = model.shape
    sizes = [len(ids) for ids in token_ids]
    flat_ids = [t for ids in token_ids for t in ids]
    # Filler texts (of token 0, no longer than the longest text, so the attention is no wider) bring
    # the token count up to its bucket; their rows are dropped at the end.
    spare, width = bucket(len(flat_ids)) - len(flat_ids), max(sizes)
    while spare > 0:
        sizes.append(min(spare, width))
        spare -= sizes[-1]
    flat_ids += [0] * (sum(sizes) - len(flat_ids))
    flat = torch.tensor(flat_ids, dtype=torch.long, device=device)
    lengths = torch.tensor(sizes, dtype=torch.long, device=device)
    scores = _compiled()(
        flat,
        lengths,
        [model.word, model.position, model.token_type, model.ln_w, model.ln_b],
        model.layers,
        [model.pooler_w, model.pooler_b, model.head_w, model.head_b],
        heads=shape.heads,
        eps=shape.eps,
        activation=_ACTIVATIONS[shape.activation],
        output=output,
    )
    return scores[: len(token_ids)]


def bucket(tokens: int) -> int:
    """The token count a forward of ``tokens`` tokens is padded to: a multiple of 16, or of 1/16 of
    its power of two above 256 tokens (at most 6.25 % more work).

    oneDNN, which runs the bf16 matrix products, compiles a kernel for each new shape and keeps the
    last 1,024 it made: a forward with a token count it has not seen waits while each of its four matrix
    shapes compiles, longer than the whole forward of a few short texts takes, and micro-batches of
    single-text requests come in every token count. Bucketed, up to 8,192 tokens there are 96 counts,
    ~400 kernels.
    """
    step = max(16, 1 << max(0, tokens.bit_length() - 5))
    return -(-tokens // step) * step


def _onednn_linear(attr: str, algorithm: str) -> Any:
    """oneDNN's product with a packed weight, then ``attr`` ("none", "relu", "gelu" with ``algorithm``
    "none" or "tanh"), as a TorchScript function. Written in TorchScript's IR: the op takes a list of
    ``Scalar?``, which its Python front end has no way to spell."""
    graph = torch._C.parse_ir(
        f"""graph(%x : Tensor, %weight : Tensor, %bias : Tensor):
  %attr : str = prim::Constant[value="{attr}"]()
  %algorithm : str = prim::Constant[value="{algorithm}"]()
  %scalars : Scalar?[] = prim::ListConstruct()
  %y : Tensor = mkldnn::_linear_pointwise(%x, %weight, %bias, %attr, %scalars, %algorithm)
  return (%y)"""
    )
    return torch._C._create_function_from_graph(f"onednn_linear_{attr}_{algorithm}", graph)


def _unpacked_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    return F.linear(x, weight, bias)  # stands in where oneDNN's op is missing (pack then packs nothing)


# Module globals, not a dict: the scripted forward calls them by name.
try:
    _packed_plain = _onednn_linear("none", "")
    _packed_relu = _onednn_linear("relu", "")
    _packed_gelu = _onednn_linear("gelu", "none")
    _packed_gelu_tanh = _onednn_linear("gelu", "tanh")
    _ONEDNN = True
except RuntimeError:  # a torch without oneDNN's linear
    _packed_plain = _packed_relu = _packed_gelu = _packed_gelu_tanh = _unpacked_linear
    _ONEDNN = False


def _linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, activation: str) -> torch.Tensor:
    """``x @ weight.T + bias``, then ``activation`` ("" for none, "relu", or GELU's "none" or "tanh"),
    in one oneDNN call where ``pack`` packed the weight."""
    if weight.is_mkldnn:
        return _packed_linear(x, weight, bias, activation)
    y = F.linear(x, weight, bias)
    if activation == "":
        return y
    if activation == "relu":
        return F.relu(y)
    return F.gelu(y, approximate=activation)


def _packed_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, activation: str) -> torch.Tensor:
    """``_linear`` on a weight ``pack`` packed: the oneDNN call with the activation fused in."""
    if activation == "":
        return _packed_plain(x, weight, bias)
    if activation == "relu":
        return _packed_relu(x, weight, bias)
    if activation == "tanh":
        return _packed_gelu_tanh(x, weight, bias)
    return _packed_gelu(x, weight, bias)


def _encode(
    flat: torch.Tensor,
    lengths: torch.Tensor,
    embeddings: list[torch.Tensor],
    layers: list[torch.Tensor],
    heads_w: list[torch.Tensor],
    *,
    heads: int,
    eps: float,
    activation: str,
    output: str,
) -> torch.Tensor:
    """The whole forward in TorchScript's subset of Python: scripted, it runs in one call that does
    not hold the GIL, so a web process's request threads do not stall it between operations."""
    word, position, token_type, ln_w, ln_b = embeddings
    hidden = word.shape[1]
    head_dim = hidden // heads
    batch = lengths.shape[0]
    width = int(lengths.max())
    device = flat.device
    rows = torch.repeat_interleave(torch.arange(batch, device=device), lengths)
    starts = torch.cumsum(lengths, 0) - lengths
    positions = torch.arange(flat.shape[0], device=device) - starts[rows]
    # Keys beyond a text's length are masked; the padded query rows are computed and dropped.
    mask = (torch.arange(width, device=device)[None, :] < lengths[:, None])[:, None, None, :]
    packed_only = batch == 1

    compute = layers[0].dtype  # the matrix products' dtype; h, the residual stream, is float32
    h = word[flat].float() + position[positions].float() + token_type.float()
    h = F.layer_norm(h, [hidden], ln_w, ln_b, eps)
    for i in range(len(layers) // 12):  # 12 tensors a layer, in Prepared.layers' order
        layer = layers[12 * i : 12 * i + 12]
        qkv_w, qkv_b, out_w, out_b, ln1_w, ln1_b, up_w, up_b, down_w, down_b, ln2_w, ln2_b = layer
        qkv = _linear(h.to(compute), qkv_w, qkv_b, "")  # (tokens, 3 * hidden)
        if packed_only:
            padded = qkv.unsqueeze(0)
        else:
            padded = qkv.new_zeros(batch, width, 3 * hidden)
            padded[rows, positions] = qkv
        qkv_heads = padded.view(batch, width, 3, heads, head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv_heads[0], qkv_heads[1], qkv_heads[2]
        if packed_only:
            context = F.scaled_dot_product_attention(q, k, v)
        else:
            context = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        context = context.transpose(1, 2).reshape(batch, width, hidden)
        attended = context[0] if packed_only else context[rows, positions]
        h = F.layer_norm(_linear(attended, out_w, out_b, "").float() + h, [hidden], ln1_w, ln1_b, eps)
        up = _linear(h.to(compute), up_w, up_b, activation)
        h = F.layer_norm(_linear(up, down_w, down_b, "").float() + h, [hidden], ln2_w, ln2_b, eps)
    pooler_w, pooler_b, head_w, head_b = heads_w
    pooled = torch.tanh(F.linear(h[starts], pooler_w, pooler_b))
    out = F.linear(pooled, head_w, head_b)
    if output == "softmax":
        return torch.softmax(out, dim=-1)
    if output == "sigmoid":
        return torch.sigmoid(out)
    return out


_scripted: Callable[..., torch.Tensor] | None = None
_script_lock = threading.Lock()


def _compiled() -> Callable[..., torch.Tensor]:
    """``_encode`` compiled by TorchScript, once per process (a fraction of a second); plain Python
    where this torch cannot script it."""
    global _scripted
    if _scripted is None:
        with _script_lock:
            if _scripted is None:
                try:
                    _scripted = torch.jit.script(_encode)
                except Exception:  # a torch without TorchScript: the same maths, op by op
                    logger.warning("TorchScript could not compile the packed forward; it runs eagerly", exc_info=True)
                    _scripted = _encode
    return _scripted
