"""The serving runtime on tiny trained models: same answers as the reference loader, shared encoders, parity."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer

from inference import runtime
from inference.runtime.batcher import MicroBatcher
from inference.runtime.cache import ModelCache
from tests.factories import NAMES, WORDS, separable
from training import engine

TEXTS = ["pizza bread soup", "guitar piano", "football goal match team", "cheese", "drum melody song violin"]


def reference_scores(artifact_dir, texts, multi_label=False):
    """What transformers/peft compute for the artifact, one text at a time (no padding involved), with
    the logits divided by the temperature the version was calibrated to (1 when it has none)."""
    model = engine.load_artifact_model(artifact_dir)
    tokenizer = AutoTokenizer.from_pretrained(str(artifact_dir))
    temperature = json.loads((Path(artifact_dir) / "tunebase.json").read_text()).get("temperature", 1.0)
    rows = []
    with torch.no_grad():
        for text in texts:
            logits = model(**tokenizer(text, return_tensors="pt")).logits / temperature
            rows.append((torch.sigmoid(logits) if multi_label else torch.softmax(logits, -1))[0].numpy())
    return np.stack(rows)


@pytest.mark.parametrize("kind", ["full", "lora", "adalora"])
def test_fp32_scores_match_the_reference_model(trained, kind):
    classifier = runtime.load(trained(kind))

    scores = classifier.predict_proba(TEXTS)

    np.testing.assert_allclose(scores, reference_scores(trained(kind), TEXTS), atol=1e-4)


def test_multi_label_scores_are_sigmoids_matching_the_reference(trained):
    classifier = runtime.load(trained("multi"))

    scores = classifier.predict_proba(TEXTS)

    assert classifier.multi_label
    np.testing.assert_allclose(scores, reference_scores(trained("multi"), TEXTS, multi_label=True), atol=1e-5)


def test_the_trained_label_wins_for_each_vocabulary(trained):
    classifier = runtime.load(trained("full"))

    scores = classifier.predict_proba([" ".join(WORDS[name]) for name in NAMES])

    assert [classifier.label_names[i] for i in scores.argmax(axis=1)] == NAMES


def test_batching_and_padding_do_not_change_a_texts_scores(trained):
    classifier = runtime.load(trained("full"))
    texts, _ = separable(50, seed=7)

    together = classifier.predict_proba(texts, batch_size=16)
    alone = np.concatenate([classifier.predict_proba([text]) for text in texts])

    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_adapter_versions_share_one_encoder_and_hold_only_their_own_weights(trained):
    bases = runtime.BasePool()

    first = runtime.load(trained("lora"), bases=bases)
    second = runtime.load(trained("lora2"), bases=bases)

    assert len(bases) == 1
    assert first.shared_base is second.shared_base
    assert first.nbytes < bases.nbytes / 10
    # Each still answers with its own weights, although they run on the same module.
    assert not np.allclose(first.predict_proba(TEXTS), second.predict_proba(TEXTS))
    np.testing.assert_allclose(first.predict_proba(TEXTS), reference_scores(trained("lora"), TEXTS), atol=1e-5)


@pytest.mark.parametrize("kind", ["full", "lora", "multi"])
def test_bf16_parity_check_passes_on_the_versions_validation_texts(trained, kind):
    report = runtime.parity_check(trained(kind))

    assert report.texts > 0
    assert report.agreement >= runtime.MIN_AGREEMENT
    assert report.passed


def test_parity_check_without_texts_fails_closed(trained, tmp_path):
    report = runtime.parity_check(trained("full"), texts=[])

    assert not report.passed


def test_bf16_scores_stay_close_to_fp32(trained):
    fast = runtime.load(trained("full"), precision=runtime.BF16)
    exact = runtime.load(trained("full"), precision=runtime.FP32)

    assert fast.precision == "bf16"
    np.testing.assert_allclose(fast.predict_proba(TEXTS), exact.predict_proba(TEXTS), atol=runtime.MAX_SCORE_DIFF)


def test_a_directory_without_manifest_is_a_clear_error(tmp_path):
    with pytest.raises(runtime.ArtifactError, match="not a model artifact"):
        runtime.load(tmp_path)


# --- the cache ------------------------------------------------------------------------------------------


def test_cache_evicts_least_recently_used_versions_by_bytes(trained):
    one = runtime.load(trained("full"))
    cache = ModelCache(max_bytes=int(one.nbytes * 2.5))
    loads: list[str] = []

    def loader(key):
        def load(bases):
            loads.append(key)
            return runtime.load(trained("full"), bases=bases)

        return load

    cache.get("a", loader("a"))
    cache.get("b", loader("b"))
    cache.get("a", loader("a"))  # a is now the most recent
    cache.get("c", loader("c"))  # over the bound: b goes

    assert "a" in cache and "c" in cache and "b" not in cache
    assert loads == ["a", "b", "c"]
    assert cache.stats().evictions == 1
    assert cache.stats().bytes <= cache.max_bytes


def test_the_shared_encoder_goes_with_the_last_adapter_using_it(trained):
    probe = runtime.BasePool()
    adapter = runtime.load(trained("lora"), bases=probe)
    cache = ModelCache(max_bytes=probe.nbytes + 3 * adapter.nbytes)

    cache.get("lora", lambda bases: runtime.load(trained("lora"), bases=bases))
    assert cache.stats().bases == 1
    cache.get("full", lambda bases: runtime.load(trained("full"), bases=bases))

    assert "lora" not in cache
    assert cache.stats().bases == 0


def test_concurrent_requests_for_a_cold_version_load_it_once(trained):
    cache = ModelCache(max_bytes=1 << 30)
    loads = []

    def load(bases):
        loads.append(1)
        return runtime.load(trained("full"), bases=bases)

    threads = [threading.Thread(target=cache.get, args=("v", load)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(loads) == 1


# --- micro-batching -------------------------------------------------------------------------------------


def test_concurrent_single_text_requests_share_forward_passes_and_get_their_own_rows(trained):
    classifier = runtime.load(trained("full"))
    batcher = MicroBatcher(window_s=0.05)
    texts, _ = separable(32, seed=3)
    expected = classifier.predict_proba(texts)
    results: dict[int, np.ndarray] = {}
    barrier = threading.Barrier(len(texts))

    def call(i):
        barrier.wait()
        results[i] = batcher.predict(classifier, [texts[i]])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(texts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    np.testing.assert_allclose(np.concatenate([results[i] for i in range(len(texts))]), expected, atol=1e-5)
    assert batcher.texts == len(texts)
    assert batcher.batches < len(texts) / 2


def test_a_failing_forward_raises_in_the_requests_thread(trained):
    classifier = runtime.load(trained("full"))
    batcher = MicroBatcher(window_s=0)

    def broken(token_ids):
        raise RuntimeError("boom")

    classifier._forward = broken

    with pytest.raises(RuntimeError, match="boom"):
        batcher.predict(classifier, ["pizza"])


def test_one_outlying_score_does_not_fail_parity_but_changed_labels_do():
    rng = np.random.default_rng(0)
    exact = rng.dirichlet([1, 1, 1], size=200).astype(np.float32)
    best = exact.argmax(axis=1)
    moved = exact.copy()
    moved[0, best[0]] += 0.08  # one text of 200 moves far, keeping its label

    outlier = runtime.compare_scores(exact, moved, precision="bf16")
    relabeled = exact.copy()
    for i in (0, 1):  # two texts of 200 (1 %) get another label
        relabeled[i] = np.eye(3, dtype=np.float32)[(best[i] + 1) % 3]
    flipped = runtime.compare_scores(exact, relabeled, precision="bf16")

    assert outlier.max_score_diff > runtime.MAX_SCORE_DIFF and outlier.passed
    assert flipped.agreement < runtime.MIN_AGREEMENT and not flipped.passed
