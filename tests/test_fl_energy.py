"""fl_validation.energy and model: profiles, per-coordinate costs, cost CV.

Oracles: the Horowitz/link constants multiplied out by hand, and the CV of the
explicit cost vector computed with numpy.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from fl_validation import energy
from fl_validation.model import build_model, parameter_layout

SRAM_UPDATE = 2 * 5e-12 + 0.9e-12  # read + write + add, 45 nm
DRAM_UPDATE = 2 * 640e-12 + 0.9e-12


def test_shipped_profiles_have_unit_and_source_for_every_constant():
    names = energy.list_profiles()
    assert {"edge-wifi", "on-device"} <= set(names)
    for name in names:
        prof = energy.load_profile(name)
        assert set(prof.constants) == set(energy.REQUIRED)
        for key, const in prof.constants.items():
            assert const.unit == energy.REQUIRED[key]
            assert const.source.strip()


def test_model_sizes_and_layer_kinds():
    cnn = parameter_layout(build_model("cnn", 0))
    assert sum(e["numel"] for e in cnn) == 62006
    assert sum(e["numel"] for e in cnn if e["kind"] == "conv") == 456 + 2416
    res = parameter_layout(build_model("resnet18", 0))
    assert sum(e["numel"] for e in res) == 11_173_962
    assert {e["kind"] for e in res} == {"conv", "norm", "linear"}


def test_on_device_cnn_costs_by_hand():
    cm = energy.cost_model_for("cnn", "on-device")
    c = cm.costs()
    assert c.shape == (62006,)
    # conv1 + conv2 (2872 params, <= 64 KiB) are cached; the FC layers go to DRAM
    assert np.allclose(c[:2872], SRAM_UPDATE, rtol=1e-12, atol=0)
    assert np.allclose(c[2872:], DRAM_UPDATE, rtol=1e-12, atol=0)
    assert cm.cv == pytest.approx(np.std(c) / np.mean(c), rel=1e-12)
    assert cm.cv == pytest.approx(0.2184, abs=5e-4)


def test_edge_wifi_costs_by_hand():
    cm = energy.cost_model_for("cnn", "edge-wifi")
    c_tx = (32 + math.ceil(math.log2(62006))) * 283.17e-9  # 48 bits per kept coordinate
    c = cm.costs()
    assert c[0] == pytest.approx(c_tx + SRAM_UPDATE, rel=1e-12)
    assert c[-1] == pytest.approx(c_tx + DRAM_UPDATE, rel=1e-12)
    assert cm.bits_per_coordinate == 48
    assert cm.cv == pytest.approx(np.std(c) / np.mean(c), rel=1e-9)
    assert cm.cv < 1e-3  # transmission dominates: nearly uniform costs


def test_cv_ordering_across_profiles_and_models():
    rows = {(r["profile"], r["model"]): r for r in energy.profile_report()}
    for model in ("cnn", "resnet18"):
        assert rows[("on-device", model)]["cost_cv"] > 100 * rows[("edge-wifi", model)]["cost_cv"]
    res = energy.cost_model_for("resnet18", "on-device")
    counts = dict(zip(res.class_names, res.class_counts.tolist()))
    # stem conv (1728) + layer2 1x1 shortcut (8192) fit 64 KiB; BN params cached; the rest DRAM
    assert counts["conv/sram"] == 1728 + 8192
    assert counts["norm/sram"] == 9600
    assert counts["linear/dram"] == 5130
    # CV from the class counts equals the CV of the explicit vector
    c = res.costs()
    assert res.cv == pytest.approx(float(np.std(c) / np.mean(c)), rel=1e-9)


def test_energy_from_counts_and_bytes():
    cm = energy.cost_model_for("cnn", "edge-wifi")
    total, tx, mem = cm.energy([10, 5])
    c = cm.costs()
    assert total == pytest.approx(10 * c[0] + 5 * c[-1], rel=1e-12)
    assert tx == pytest.approx(15 * 48 * 283.17e-9, rel=1e-12)
    assert mem == pytest.approx(10 * SRAM_UPDATE + 5 * DRAM_UPDATE, rel=1e-12)
    assert cm.bytes_sent(15, dense=False) == math.ceil(15 * 48 / 8)
    assert cm.bytes_sent(0, dense=True) == 62006 * 4


def _write(tmp_path, text: str):
    p = tmp_path / "custom.toml"
    p.write_text(text)
    return p


def test_profile_errors_name_the_key(tmp_path):
    base = (energy.PROFILE_DIR / "on-device.toml").read_text()
    no_source = base.replace('source = "Horowitz, ISSCC 2014, 45 nm: 32-bit floating-point add 0.9 pJ"\n', "")
    with pytest.raises(energy.ProfileError, match=r"memory.fp32_add\] lacks source"):
        energy.load_profile(_write(tmp_path, no_source))
    wrong_unit = base.replace('value = 640e-12\nunit = "J"', 'value = 640e-12\nunit = "pJ"')
    with pytest.raises(energy.ProfileError, match=r"memory.dram_access\] unit is 'pJ'"):
        energy.load_profile(_write(tmp_path, wrong_unit))
    bad_rule = base.replace('linear = "dram"', 'linear = "cache"')
    with pytest.raises(energy.ProfileError, match="linear = 'cache'"):
        energy.load_profile(_write(tmp_path, bad_rule))
    with pytest.raises(energy.ProfileError, match="not found"):
        energy.load_profile("no-such-profile")


def test_by_size_rule_follows_capacity(tmp_path):
    base = (energy.PROFILE_DIR / "on-device.toml").read_text()
    small = base.replace("value = 65536", "value = 4096")  # conv2 (2416 params = 9664 B) no longer fits
    cm = energy.build_cost_model(parameter_layout(build_model("cnn", 0)), energy.load_profile(_write(tmp_path, small)))
    counts = dict(zip(cm.class_names, cm.class_counts.tolist()))
    assert counts == {"conv/sram": 456, "conv/dram": 2416, "linear/dram": 59134}


def test_dense_upload_is_charged_the_bits_it_sends():
    """Dense sends 32 value bits a coordinate and no index: link energy d*32*e_bit, not d*48*e_bit."""
    import torch

    from fl_validation.client import sparsify
    from fl_validation.config import FLConfig

    cm = energy.cost_model_for("cnn", "edge-wifi")
    e_bit = 283.17e-9
    counts = cm.class_counts
    total, tx, mem = cm.energy(counts, dense=True)
    assert tx == pytest.approx(62006 * 32 * e_bit, rel=1e-12)
    assert mem == pytest.approx(2872 * SRAM_UPDATE + 59134 * DRAM_UPDATE, rel=1e-12)
    assert cm.energy(counts)[1] == pytest.approx(62006 * 48 * e_bit, rel=1e-12)  # sparse form: value + index
    assert cm.bytes_sent(62006, dense=True) * 8 * e_bit == pytest.approx(tx, rel=1e-12)
    g = torch.randn(62006, generator=torch.Generator().manual_seed(0))
    res = sparsify(g, FLConfig(method="dense", profile="edge-wifi"), cm, cm.costs_torch(),
                   torch.from_numpy(cm.class_ids), torch.Generator())
    assert res.stats["energy_tx_J"] == pytest.approx(tx, rel=1e-12) and res.stats["energy_J"] == pytest.approx(total)


def test_on_device_bysize_caches_every_layer_that_fits():
    """The size rule of on-device's onchip_capacity comment, applied to linear layers too:
    fc2 (10,164 params, 40.7 kB) and fc3 (850, 3.4 kB) cached, fc1 (48,120, 192 kB) in DRAM."""
    cm = energy.cost_model_for("cnn", "on-device-bysize")
    c = cm.costs()
    n_sram = 2872 + 10164 + 850
    assert (c == SRAM_UPDATE).sum() == n_sram and (c == DRAM_UPDATE).sum() == 48120
    mu = (n_sram * SRAM_UPDATE + 48120 * DRAM_UPDATE) / 62006
    sd = math.sqrt((n_sram * (SRAM_UPDATE - mu) ** 2 + 48120 * (DRAM_UPDATE - mu) ** 2) / 62006)
    assert cm.cv == pytest.approx(sd / mu, rel=1e-12) and cm.cv == pytest.approx(0.531, abs=5e-4)
    assert energy.cost_model_for("cnn", "on-device").cv == pytest.approx(0.2184, abs=5e-4)  # unchanged
