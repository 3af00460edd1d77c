"""The packed forward computes what ``BertForSequenceClassification`` computes, without the padding."""

from __future__ import annotations

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification, DistilBertConfig

from inference.runtime import packed


def tiny_classifier(**overrides) -> BertForSequenceClassification:
    torch.manual_seed(0)
    values = dict(
        vocab_size=60,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=48,
        max_position_embeddings=64,
        num_labels=3,
    )
    values.update(overrides)
    return BertForSequenceClassification(BertConfig(**values)).eval()


def padded_logits(model, token_ids):
    width = max(len(ids) for ids in token_ids)
    input_ids = torch.tensor([ids + [0] * (width - len(ids)) for ids in token_ids])
    mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in token_ids])
    with torch.no_grad():
        return model(input_ids=input_ids, attention_mask=mask).logits


# Texts of very different lengths in one batch, and a batch of one.
BATCHES = [[[2, 7, 9, 3], [2, 5, 3], [2, *range(10, 40), 3], [2, 3]], [[2, 11, 12, 13, 3]]]


@pytest.mark.parametrize("activation", ["gelu", "gelu_new", "relu"])
@pytest.mark.parametrize("token_ids", BATCHES)
def test_logits_equal_the_transformers_model(activation, token_ids):
    model = tiny_classifier(hidden_act=activation)
    shape = packed.shape_of(model.config)
    assert shape is not None

    prepared = packed.prepare(dict(model.named_parameters()), shape)
    with torch.no_grad():
        got = packed.logits(prepared, token_ids, torch.device("cpu"))

    torch.testing.assert_close(got, padded_logits(model, token_ids), atol=1e-5, rtol=1e-4)


def test_each_text_gets_the_logits_it_gets_alone():
    model = tiny_classifier()
    prepared = packed.prepare(dict(model.named_parameters()), packed.shape_of(model.config))
    batch = BATCHES[0]

    with torch.no_grad():
        together = packed.logits(prepared, batch, torch.device("cpu"))
        alone = torch.cat([packed.logits(prepared, [ids], torch.device("cpu")) for ids in batch])

    torch.testing.assert_close(together, alone, atol=1e-5, rtol=1e-4)


def test_in_bf16_it_stays_closer_to_fp32_than_a_model_cast_to_bf16():
    # Only the matrix products run in bf16; the residual stream, LayerNorms and head stay float32.
    # A whole-bf16 model rounds the residual stream after every layer: on real models that flipped
    # labels near a tie often enough to fail the deploy-time parity check.
    model = tiny_classifier(hidden_size=64, num_hidden_layers=4, intermediate_size=256, num_labels=5)
    generator = torch.Generator().manual_seed(1)
    batch = [[2, *torch.randint(4, 60, (n,), generator=generator).tolist(), 3] for n in (5, 17, 40, 9, 30, 12)]
    reference = padded_logits(model, batch)
    model = model.to(torch.bfloat16)
    whole_bf16 = padded_logits(model, batch).float()
    prepared = packed.prepare(dict(model.named_parameters()), packed.shape_of(model.config))

    with torch.no_grad():
        got = packed.logits(prepared, batch, torch.device("cpu"))

    assert got.dtype == torch.float32
    assert (got - reference).abs().max() < (whole_bf16 - reference).abs().max() / 2


@pytest.mark.parametrize("activation", ["gelu", "gelu_new", "relu"])
def test_weights_packed_for_onednn_give_the_unpacked_logits(activation):
    model = tiny_classifier(hidden_act=activation).to(torch.bfloat16)
    prepared = packed.prepare(dict(model.named_parameters()), packed.shape_of(model.config))
    fast = packed.pack(prepared)

    with torch.no_grad():
        expected = packed.logits(prepared, BATCHES[0], torch.device("cpu"))
        got = packed.logits(fast, BATCHES[0], torch.device("cpu"))

    assert all(fast.layers[j].is_mkldnn for j in (0, 2, 6, 8))  # the four matrices of the first layer
    torch.testing.assert_close(got, expected, atol=2e-2, rtol=2e-2)  # bf16 rounding of the activation


def test_fp32_models_are_not_packed():
    model = tiny_classifier()
    prepared = packed.prepare(dict(model.named_parameters()), packed.shape_of(model.config))

    assert packed.pack(prepared) is prepared


@pytest.mark.parametrize("pack", [False, True], ids=["plain", "packed"])
def test_an_override_computes_what_the_merged_weights_compute(pack):
    # An adapter version: some matrices and the head changed, the rest of the encoder shared.
    dtype = torch.bfloat16 if pack else torch.float32
    model = tiny_classifier().to(dtype)
    weights = dict(model.named_parameters())
    shape = packed.shape_of(model.config)
    base = packed.prepare(weights, shape)
    base = packed.pack(base) if pack else base
    generator = torch.Generator().manual_seed(3)
    changed = {
        name: weights[name] + torch.randn(weights[name].shape, generator=generator).to(dtype) / 10
        for name in ("bert.encoder.layer.1.attention.self.value.weight", "classifier.weight", "classifier.bias")
    }

    with torch.no_grad():
        got = packed.logits(packed.override(base, weights, changed), BATCHES[0], torch.device("cpu"))
        expected = packed.logits(packed.prepare({**weights, **changed}, shape), BATCHES[0], torch.device("cpu"))
        unchanged = packed.logits(base, BATCHES[0], torch.device("cpu"))

    torch.testing.assert_close(got, expected, atol=2e-2, rtol=2e-2)
    assert not torch.allclose(got, unchanged, atol=2e-2, rtol=2e-2)


def test_token_counts_fall_in_few_buckets_with_little_padding():
    # oneDNN compiles a kernel per matrix shape and keeps 1,024: every new token count would cost
    # ~2 ms a matrix product, and batches of single-text requests come in every count.
    counts = range(1, 8193)
    buckets = {packed.bucket(n) for n in counts}

    assert len(buckets) <= 100
    assert all(n <= packed.bucket(n) <= max(n + 15, n * 1.0625) for n in counts)


@pytest.mark.parametrize(
    "config",
    [
        DistilBertConfig(),
        BertConfig(position_embedding_type="relative_key"),
        BertConfig(hidden_act="silu"),
        BertConfig(is_decoder=True),
    ],
    ids=["another architecture", "relative positions", "another activation", "a decoder"],
)
def test_models_it_does_not_compute_are_left_to_transformers(config):
    assert packed.shape_of(config) is None


def test_a_model_without_a_pooler_is_refused_by_name():
    model = tiny_classifier()
    weights = {k: v for k, v in model.named_parameters() if "pooler" not in k}

    with pytest.raises(KeyError, match="pooler"):
        packed.prepare(weights, packed.shape_of(model.config))


def test_the_forward_runs_as_one_torchscript_call():
    # Scripted, it runs without holding the GIL: request threads in a web process do not stall it.
    assert isinstance(packed._compiled(), torch.jit.ScriptFunction)


@pytest.mark.parametrize("output", ["softmax", "sigmoid"])
def test_scores_are_the_activation_of_the_logits(output):
    model = tiny_classifier()
    prepared = packed.prepare(dict(model.named_parameters()), packed.shape_of(model.config))
    batch = BATCHES[0]

    with torch.no_grad():
        scores = packed.logits(prepared, batch, torch.device("cpu"), output)
    expected = padded_logits(model, batch)
    expected = expected.softmax(dim=-1) if output == "softmax" else expected.sigmoid()

    torch.testing.assert_close(scores, expected, atol=1e-5, rtol=1e-4)


def test_an_unknown_output_is_refused():
    model = tiny_classifier()
    prepared = packed.prepare(dict(model.named_parameters()), packed.shape_of(model.config))

    with pytest.raises(ValueError, match="output must be"):
        packed.logits(prepared, BATCHES[1], torch.device("cpu"), "argmax")
