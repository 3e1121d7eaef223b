"""Hardware profiles: built-ins, figures against ../shared/reference/hardware.md, validation
(schema 2), version-1 migration, price dates and staleness, user directory overrides. The new
chips' figures against their sources are in test_catalogue.py."""

from __future__ import annotations

import copy
import dataclasses
import datetime
import math
import re
import time

import pytest
import yaml

from estimator.errors import EstimatorError, InputError, ProfileError
from estimator.hardware import (
    ENV_PROFILE_DIR,
    PRICE_TIERS,
    SCHEMA_VERSION,
    Calibration,
    Price,
    ProfileSet,
    builtin_profiles,
    get_profile,
    load_profile_file,
    load_profiles,
    parse_price_date,
    profile_from_dict,
    user_profile_dir,
)

BUILTIN_IDS = {
    "a100-40gb", "a100-80gb", "h100-sxm", "h100-pcie", "h200", "h800",
    "b200", "gb200", "b300", "gb300",
    "tpu-v4", "tpu-v5e", "tpu-v5p", "tpu-v6e", "tpu-v7",
    "mi300x", "mi325x", "mi355x", "trainium2",
}
#: The catalogue before schema 2: their engine figures must not move.
LEGACY_IDS = {"a100-40gb", "a100-80gb", "h100-sxm", "h100-pcie", "h200", "b200",
              "tpu-v4", "tpu-v5e", "tpu-v5p", "tpu-v6e", "mi300x"}
TODAY = datetime.date(2026, 12, 1)


@pytest.fixture(autouse=True)
def _isolated_user_dir(tmp_path, monkeypatch):
    """Never read the real user config dir: point ESTIMATOR_PROFILE_DIR at an empty folder."""
    empty = tmp_path / "no-user-profiles"
    empty.mkdir()
    monkeypatch.setenv(ENV_PROFILE_DIR, str(empty))
    return empty


def valid_profile(**changes) -> dict:
    """A schema-2 profile of a chip from an unknown family (so it pins its constants)."""
    d = {
        "schema_version": 2,
        "id": "my-chip",
        "display_name": "My Chip",
        "vendor": "Acme",
        "generation": "test",
        "family": "acme-npu",
        "peak_tflops": {"bf16": 500.0, "fp8": 1000.0},
        "memory_gb": 96,
        "memory_bandwidth_tb_per_s": 4.0,
        "scale_up": {"domain_chips": 8, "gb_per_s": 400, "link": "AcmeLink"},
        "scale_out": {"gb_per_s": 50, "link": "400 Gb/s Ethernet per chip"},
        "power_w": 600,
        "prices": {"on_demand": {"usd_per_hour": 2.0, "date": "2026-01", "provider": "Acme Cloud",
                                 "source": "quote"}},
        "train_mfu": 0.4,
        "train_goodput": 0.9,
        "inference_utilization": 0.5,
        "sources": ["vendor datasheet"],
    }
    d.update(changes)
    return d


def v1_profile(**changes) -> dict:
    """A version-1 file as the previous loader required it."""
    d = {
        "schema_version": 1,
        "id": "my-chip",
        "display_name": "My Chip",
        "vendor": "Acme",
        "generation": "test",
        "peak_tflops": {"bf16": 500.0, "fp8": 1000.0},
        "memory_gb": 96,
        "memory_bandwidth_tbps": 4.0,
        "interconnect_gbps": 800,
        "power_w": 600,
        "prices": {"on_demand": {"usd_per_hour": 2.0, "date": "2026-01", "source": "quote"}},
        "train_mfu": 0.4,
        "train_goodput": 0.9,
        "inference_utilization": 0.5,
        "sources": ["vendor datasheet"],
    }
    d.update(changes)
    return d


def write(path, data) -> str:
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return str(path)


def load_error(tmp_path, data, name="bad.yaml") -> str:
    path = tmp_path / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        write(path, data)
    with pytest.raises(ProfileError) as info:
        load_profile_file(path)
    msg = str(info.value)
    assert str(path) in msg, msg  # every message names the file
    return msg


# --------------------------------------------------------------------------------------
# Built-ins
# --------------------------------------------------------------------------------------


def test_builtin_ids_exact():
    assert set(builtin_profiles()) == BUILTIN_IDS
    for p in builtin_profiles().values():
        assert p.origin == "built-in"
        assert p.warnings == () and p.defaults_from == ""
        assert p.sources and all(s.strip() for s in p.sources)
        assert "on_demand" in p.prices  # compare() runs every chip at the default tier
        assert p.scale_up_link and p.scale_out_link
        for price in p.prices.values():
            assert price.date and price.source and price.provider
            assert price.as_of is not None, (p.id, price.date)  # every built-in date parses


def test_builtin_files_are_the_current_schema():
    from estimator.hardware import _builtin_entries

    for name, raw in _builtin_entries():
        assert yaml.safe_load(raw)["schema_version"] == SCHEMA_VERSION == 2, name


def test_builtin_file_names_match_ids():
    from estimator.hardware import _builtin_entries

    names = {name.removesuffix(".yaml") for name, _ in _builtin_entries()}
    assert names == BUILTIN_IDS


@pytest.mark.parametrize(
    "pid, bf16, fp8, fp4, memory_gb, bw_tb_per_s, link_bidir_gb_per_s, power_w",
    [
        ("a100-40gb", 312.0, None, None, 40, 1.555, 600, 400),
        ("a100-80gb", 312.0, None, None, 80, 2.039, 600, 400),
        ("h100-sxm", 989.5, 1979.0, None, 80, 3.35, 900, 700),
        ("h100-pcie", 756.0, 1513.0, None, 80, 2.0, 600, 350),
        ("h200", 989.5, 1979.0, None, 141, 4.8, 900, 700),
        ("b200", 2250.0, 4500.0, 9000.0, 180, 8.0, 1800, 1000),
        ("tpu-v4", 275.0, None, None, 32, 1.2, 600, 192),
        ("tpu-v5e", 197.0, None, None, 16, 0.819, 400, 138),
        ("tpu-v5p", 459.0, None, None, 95, 2.765, 1200, 320),
        ("tpu-v6e", 918.0, None, None, 32, 1.638, 800, 641),
        ("mi300x", 1307.4, 2614.9, None, 192, 5.3, 896, 750),
    ],
)
def test_figures_match_hardware_md(pid, bf16, fp8, fp4, memory_gb, bw_tb_per_s,
                                   link_bidir_gb_per_s, power_w):
    """The schema-1 figures, unchanged; the scale-up link is now per direction (half the
    vendor's bidirectional figure that version 1 stored)."""
    p = builtin_profiles()[pid]
    assert p.peak_tflops["bf16"] == bf16
    assert p.peak_tflops.get("fp8") == fp8
    assert p.peak_tflops.get("fp4") == fp4
    assert p.memory_gb == memory_gb
    assert p.memory_bandwidth_tb_per_s == bw_tb_per_s
    assert p.scale_up_gb_per_s == link_bidir_gb_per_s / 2
    assert p.power_w == power_w


def test_tpu_power_estimates_follow_v4_perf_per_watt():
    v4 = builtin_profiles()["tpu-v4"]
    for pid in ("tpu-v5e", "tpu-v5p", "tpu-v6e"):
        p = builtin_profiles()[pid]
        expected = p.peak_tflops["bf16"] / v4.peak_tflops["bf16"] * v4.power_w
        assert p.power_w == pytest.approx(expected, abs=1.0)
        assert "ESTIMATE" in p.notes.upper() or "estimate" in p.notes


def test_prices_against_hardware_md():
    b = builtin_profiles()
    assert b["h100-sxm"].price_usd_per_hour() == 2.5
    assert b["h100-sxm"].price_usd_per_hour("reserved") == 1.85
    assert b["h100-sxm"].price_usd_per_hour("spot") == 1.52
    assert b["a100-80gb"].price_usd_per_hour("on_demand") == 1.8
    assert b["a100-40gb"].price_usd_per_hour("reserved") == 1.844
    assert b["b200"].price_usd_per_hour("on_demand") == 5.0
    assert b["b200"].price_usd_per_hour("spot") == 2.25
    assert b["tpu-v4"].price_usd_per_hour() == 3.22
    assert b["tpu-v4"].prices["on_demand"].date == "2022-08-11"
    assert b["tpu-v5e"].price_usd_per_hour() == 1.2
    assert b["tpu-v5p"].price_usd_per_hour() == 4.2
    assert b["tpu-v6e"].price_usd_per_hour() == 2.7
    assert b["tpu-v6e"].price_usd_per_hour("reserved") == 1.89
    assert b["h100-sxm"].price_usd_per_hour("capacity_block") == 4.916
    assert b["h200"].price_usd_per_hour("capacity_block") == 5.408
    assert b["a100-40gb"].price_usd_per_hour("capacity_block") == 1.844
    # Estimated prices say so in their source and provider.
    for pid in ("mi300x", "h100-pcie", "h200", "b300", "gb300", "tpu-v7", "mi355x", "trainium2"):
        assert "ESTIMATE" in b[pid].prices["on_demand"].source, pid
        assert "ESTIMATE" in b[pid].prices["on_demand"].provider, pid


@pytest.mark.parametrize("pid, anchor", [
    ("h100-pcie", "h100-sxm"),  # the schema-1 estimate, rounded to 1.9
    ("b300", "b200"),
    ("gb300", "gb200"),
    ("tpu-v7", "tpu-v6e"),
    ("mi355x", "mi325x"),
    ("trainium2", "h100-sxm"),
])
def test_estimated_prices_follow_their_documented_rule(pid, anchor):
    """An estimated price is the anchor chip's price at equal $ per dense bf16 TFLOP/s, and
    its source names the anchor."""
    b = builtin_profiles()
    p, a = b[pid], b[anchor]
    expected = a.price_usd_per_hour() * p.peak_tflops["bf16"] / a.peak_tflops["bf16"]
    tol = 0.06 if pid == "h100-pcie" else 0.006  # rounded to 0.1 / 0.01
    assert p.price_usd_per_hour() == pytest.approx(expected, abs=tol)

    def squash(t: str) -> str:
        return re.sub(r"[^a-z0-9]", "", t.lower())

    assert squash(anchor) in squash(p.prices["on_demand"].source)


def test_no_fp8_where_the_chip_has_none():
    b = builtin_profiles()
    for pid in ("a100-40gb", "a100-80gb", "tpu-v4", "tpu-v5e", "tpu-v5p", "tpu-v6e"):
        assert "fp8" not in b[pid].peak_tflops, pid
    with_fp4 = {"b200", "gb200", "b300", "gb300", "mi355x"}
    for pid in BUILTIN_IDS - with_fp4:
        assert "fp4" not in b[pid].peak_tflops, pid
    for pid in with_fp4:
        assert b[pid].peak_tflops["fp4"] >= 2 * b[pid].peak_tflops["fp8"] * 0.99, pid


def test_peak_flops_per_s_and_precision_error():
    h100 = builtin_profiles()["h100-sxm"]
    assert h100.peak_flops_per_s("bf16") == 989.5e12
    assert h100.peak_flops_per_s("fp8") == 1979.0e12
    assert h100.precisions() == ["bf16", "fp8"]
    with pytest.raises(InputError, match=r"h100-sxm.*'fp4'.*bf16, fp8"):
        h100.peak_flops_per_s("fp4")
    a100 = builtin_profiles()["a100-80gb"]
    with pytest.raises(ValueError, match=r"precision must be one of bf16$"):
        a100.peak_flops_per_s("fp8")


def test_price_tier_error_names_available_tiers():
    with pytest.raises(InputError, match=r"a100-80gb.*'spot'.*available: on_demand"):
        builtin_profiles()["a100-80gb"].price_usd_per_hour("spot")
    with pytest.raises(EstimatorError, match=r"on_demand, reserved, spot, capacity_block"):
        builtin_profiles()["h100-sxm"].price_usd_per_hour("monthly")


def test_to_dict_round_trips_through_loader(tmp_path):
    for p in builtin_profiles().values():
        d = p.to_dict()
        assert d["origin"] == "built-in"
        assert d["schema_version"] == 2 and d["family"] == p.family
        assert d["scale_up"]["domain_chips"] == p.scale_up_domain_chips
        assert d["calibration"]["status"] == p.calibration.status
        del d["origin"]
        path = tmp_path / f"{p.id}.yaml"
        write(path, d)
        again = load_profile_file(path)
        assert again.warnings == ()
        assert dataclasses.replace(again, origin="built-in") == p


def test_report_dict_has_what_the_faces_show():
    p = builtin_profiles()["a100-40gb"]
    d = p.to_report_dict(today=TODAY)
    assert d["stale_price_tiers"] == ["on_demand", "reserved", "capacity_block"]
    assert d["price_freshness"]["on_demand"]["status"] == "stale"
    assert d["price_freshness"]["on_demand"]["as_of"] == "2023-05-01"
    assert d["price_freshness"]["on_demand"]["age_months"] == 43
    assert d["calibration"] == {"status": "calibrated", "note": p.calibration.note}
    assert d["warnings"] == [] and d["defaults_from"] is None
    assert (d["train_mfu"], d["train_goodput"]) == (0.47, 0.81)
    import json

    json.dumps(d, allow_nan=False)  # plain data for the CLI's --json


def test_builtin_load_is_cached_and_fast():
    builtin_profiles()
    t0 = time.perf_counter()
    for _ in range(50):
        load_profiles()
    assert (time.perf_counter() - t0) / 50 < 0.01  # parse once per process


def test_profile_is_hashable_and_frozen():
    p = builtin_profiles()["h100-sxm"]
    assert {p: 1}[p] == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.train_mfu = 0.9  # type: ignore[misc]


def test_construction_validates_values():
    p = builtin_profiles()["h100-sxm"]
    with pytest.raises(ProfileError, match=r"h100-sxm.*train_mfu.*\(0.01, 1\]"):
        dataclasses.replace(p, train_mfu=1.5)
    q = dataclasses.replace(p, train_mfu=0.5)
    assert q.effective_train_fraction == pytest.approx(0.5 * p.train_goodput)


# --------------------------------------------------------------------------------------
# Validation: one test per kind of error, each naming the file and the field
# --------------------------------------------------------------------------------------


def test_valid_profile_loads(tmp_path):
    p = load_profile_file(write(tmp_path / "ok.yaml", valid_profile()))
    assert p.id == "my-chip"
    assert p.origin == str(tmp_path / "ok.yaml")
    assert p.prices["on_demand"] == Price(2.0, "2026-01", "quote", provider="Acme Cloud")
    assert p.peak_flops_per_s("fp8") == 1e15
    assert (p.scale_up_domain_chips, p.scale_up_gb_per_s, p.scale_out_gb_per_s) == (8, 400, 50)
    assert p.scale_up_link == "AcmeLink"
    assert p.calibration == Calibration("measured", note="utilisation constants pinned in the file")
    assert p.warnings == ()


def test_error_unknown_key(tmp_path):
    msg = load_error(tmp_path, valid_profile(peak_tflop={"bf16": 1}))
    assert "unknown field" in msg and "'peak_tflop'" in msg


def test_error_missing_field(tmp_path):
    d = valid_profile()
    del d["memory_gb"]
    msg = load_error(tmp_path, d)
    assert "missing field" in msg and "'memory_gb'" in msg


def test_error_wrong_type_number(tmp_path):
    msg = load_error(tmp_path, valid_profile(memory_gb="lots"))
    assert "'memory_gb'" in msg and "must be a number" in msg


def test_error_wrong_type_bool_is_not_a_number(tmp_path):
    msg = load_error(tmp_path, valid_profile(power_w=True))
    assert "'power_w'" in msg and "must be a number" in msg


def test_error_wrong_type_string(tmp_path):
    msg = load_error(tmp_path, valid_profile(vendor=["Acme"]))
    assert "'vendor'" in msg and "non-empty string" in msg


def test_error_wrong_type_mapping(tmp_path):
    msg = load_error(tmp_path, valid_profile(peak_tflops=[500]))
    assert "'peak_tflops'" in msg and "mapping" in msg


def test_error_sources_not_a_list(tmp_path):
    msg = load_error(tmp_path, valid_profile(sources="datasheet"))
    assert "'sources'" in msg and "list of strings" in msg


def test_error_negative_value(tmp_path):
    msg = load_error(tmp_path, valid_profile(memory_bandwidth_tb_per_s=-1))
    assert "'memory_bandwidth_tb_per_s'" in msg and "out of range" in msg


def test_error_zero_value(tmp_path):
    msg = load_error(tmp_path, valid_profile(scale_up={"domain_chips": 8, "gb_per_s": 0}))
    assert "'scale_up.gb_per_s'" in msg and "out of range" in msg


@pytest.mark.parametrize("field_name", ["train_mfu", "train_goodput", "inference_utilization"])
@pytest.mark.parametrize("value", [0, 1.2, -0.3, 0.005, 1e-308])
def test_error_fraction_outside_unit_interval(tmp_path, field_name, value):
    msg = load_error(tmp_path, valid_profile(**{field_name: value}))
    assert f"'{field_name}'" in msg and "(0.01, 1]" in msg


def test_mfu_of_exactly_one_is_allowed(tmp_path):
    path = write(tmp_path / "one.yaml", valid_profile(train_mfu=1))
    assert load_profile_file(path).train_mfu == 1


def test_error_absurd_peak(tmp_path):
    msg = load_error(tmp_path, valid_profile(peak_tflops={"bf16": 989.5e12}))  # FLOP/s typed
    assert "'peak_tflops.bf16'" in msg and "TFLOP/s" in msg


def test_error_absurd_memory(tmp_path):
    msg = load_error(tmp_path, valid_profile(memory_gb=80000))  # MB typed as GB
    assert "'memory_gb'" in msg and "GB" in msg


def test_error_not_finite(tmp_path):
    msg = load_error(tmp_path, "".join(
        f"{k}: .nan\n" if k == "power_w" else yaml.safe_dump({k: v})
        for k, v in valid_profile().items()))
    assert "'power_w'" in msg


def test_error_missing_bf16(tmp_path):
    msg = load_error(tmp_path, valid_profile(peak_tflops={"fp8": 1000}))
    assert "'peak_tflops.bf16'" in msg and "required" in msg


def test_error_unknown_precision(tmp_path):
    msg = load_error(tmp_path, valid_profile(peak_tflops={"bf16": 500, "fp6": 700}))
    assert "'peak_tflops.fp6'" in msg and "bf16" in msg


def test_error_bad_price_tier(tmp_path):
    prices = {"hourly": {"usd_per_hour": 2.0, "date": "2026", "provider": "p", "source": "x"}}
    msg = load_error(tmp_path, valid_profile(prices=prices))
    assert "'prices.hourly'" in msg and "on_demand, reserved, spot, capacity_block" in msg


def test_error_price_missing_source(tmp_path):
    prices = {"spot": {"usd_per_hour": 1.0, "date": "2026", "provider": "p"}}
    msg = load_error(tmp_path, valid_profile(prices=prices))
    assert "'prices.spot.source'" in msg


def test_error_price_missing_provider(tmp_path):
    prices = {"spot": {"usd_per_hour": 1.0, "date": "2026", "source": "x"}}
    msg = load_error(tmp_path, valid_profile(prices=prices))
    assert "'prices.spot.provider'" in msg and "whose price" in msg


def test_error_price_unknown_field(tmp_path):
    prices = {"spot": {"usd_per_hour": 1.0, "date": "2026", "provider": "p", "source": "x",
                       "currency": "EUR"}}
    msg = load_error(tmp_path, valid_profile(prices=prices))
    assert "'prices.spot.currency'" in msg and "usd_per_hour, date, provider, source" in msg


def test_error_price_negative(tmp_path):
    prices = {"spot": {"usd_per_hour": -1.0, "date": "2026", "provider": "p", "source": "x"}}
    msg = load_error(tmp_path, valid_profile(prices=prices))
    assert "'prices.spot.usd_per_hour'" in msg and "USD per chip-hour" in msg


@pytest.mark.parametrize("version", [3, 0, "2", True, None])
def test_error_schema_version(tmp_path, version):
    msg = load_error(tmp_path, valid_profile(schema_version=version))
    assert "'schema_version'" in msg and "must be 2" in msg


def test_error_bad_id(tmp_path):
    msg = load_error(tmp_path, valid_profile(id="My Chip!"))
    assert "'id'" in msg


def test_error_non_mapping_yaml(tmp_path):
    msg = load_error(tmp_path, "- just\n- a list\n")
    assert "expected a mapping" in msg and "list" in msg


def test_error_yaml_syntax(tmp_path):
    msg = load_error(tmp_path, "id: x\npeak_tflops: {bf16: 1\n")
    assert "not valid YAML" in msg and "line" in msg


def test_error_yaml_python_object_tag(tmp_path):
    text = "!!python/object/apply:os.system ['echo pwned']\n"
    msg = load_error(tmp_path, text)
    assert "tag not allowed" in msg and "python/object" in msg


def test_error_yaml_python_object_tag_in_a_field(tmp_path):
    text = yaml.safe_dump(valid_profile()).replace(
        "memory_gb: 96", "memory_gb: !!python/object:collections.OrderedDict {}")
    msg = load_error(tmp_path, text)
    assert "tag not allowed" in msg


def test_error_duplicate_key(tmp_path):
    text = yaml.safe_dump(valid_profile(), sort_keys=False) + "memory_gb: 80\n"
    msg = load_error(tmp_path, text)
    assert "duplicate key 'memory_gb'" in msg


def test_error_binary_junk(tmp_path):
    msg = load_error(tmp_path, bytes(range(256)) * 4)
    assert "UTF-8" in msg


def test_error_nul_bytes_in_utf8(tmp_path):
    msg = load_error(tmp_path, b"id: x\x00\x00\x00\n")
    assert "not valid YAML" in msg


def test_error_empty_file(tmp_path):
    msg = load_error(tmp_path, b"")
    assert "empty" in msg


def test_error_whitespace_only_file(tmp_path):
    msg = load_error(tmp_path, b"  \n\n")
    assert "empty" in msg


def test_error_comment_only_file(tmp_path):
    msg = load_error(tmp_path, "# nothing here\n")
    assert "expected a mapping" in msg and "NoneType" in msg


def test_error_missing_file(tmp_path):
    with pytest.raises(ProfileError, match="not found"):
        load_profile_file(tmp_path / "nope.yaml")


def test_numeric_strings_accepted(tmp_path):
    # YAML 1.1 reads 1e3 (no dot) as a string; accept it as a number.
    text = yaml.safe_dump(valid_profile(), sort_keys=False).replace("power_w: 600", "power_w: 1e3")
    assert load_profile_file(write(tmp_path / "e.yaml", text)).power_w == 1000.0


def test_profile_from_dict_names_where():
    with pytest.raises(ProfileError, match=r"^somewhere: field 'train_goodput'"):
        profile_from_dict(valid_profile(train_goodput=2), where="somewhere")


def test_profile_error_is_value_error():
    assert issubclass(ProfileError, ValueError) and issubclass(ProfileError, EstimatorError)


# --------------------------------------------------------------------------------------
# User directory
# --------------------------------------------------------------------------------------


def test_user_profile_dir_env_override(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_PROFILE_DIR, str(tmp_path / "mine"))
    assert user_profile_dir() == tmp_path / "mine"


def test_user_profile_dir_default_uses_platformdirs(monkeypatch):
    from platformdirs import user_config_dir

    monkeypatch.delenv(ENV_PROFILE_DIR, raising=False)
    d = user_profile_dir()
    assert d.name == "hardware_profiles"
    assert str(d.parent) == user_config_dir("llm-cost-estimator")


def test_user_dir_adds_a_profile(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_PROFILE_DIR, str(tmp_path))
    write(tmp_path / "mine.yaml", valid_profile())
    pset = load_profiles()
    assert isinstance(pset, ProfileSet)
    assert pset.errors == []
    assert set(pset.profiles) == BUILTIN_IDS | {"my-chip"}
    assert pset.profiles["my-chip"].origin == str(tmp_path / "mine.yaml")
    assert get_profile("my-chip").display_name == "My Chip"


def test_user_dir_overrides_builtin_by_id(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_PROFILE_DIR, str(tmp_path))
    h100 = builtin_profiles()["h100-sxm"].to_dict()
    del h100["origin"]
    h100["prices"]["on_demand"] = {"usd_per_hour": 1.99, "date": "2026-05", "provider": "us",
                                   "source": "our deal"}
    write(tmp_path / "h100.yml", h100)
    pset = load_profiles()
    assert pset.errors == []
    p = pset.profiles["h100-sxm"]
    assert p.price_usd_per_hour() == 1.99
    assert p.origin == str(tmp_path / "h100.yml")
    # The cached built-in is untouched.
    assert builtin_profiles()["h100-sxm"].price_usd_per_hour() == 2.5
    assert load_profiles(tmp_path / "elsewhere").profiles["h100-sxm"].origin == "built-in"


def test_broken_user_file_reported_others_still_load(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_PROFILE_DIR, str(tmp_path))
    write(tmp_path / "a-good.yaml", valid_profile(id="good-chip"))
    write(tmp_path / "b-broken.yaml", valid_profile(id="broken-chip", train_mfu=7))
    (tmp_path / "c-junk.yaml").write_bytes(b"\xff\xfe\x00junk")
    write(tmp_path / "d-good.yaml", valid_profile(id="other-chip"))
    (tmp_path / "notes.txt").write_text("not a profile")
    pset = load_profiles()
    assert {"good-chip", "other-chip"} <= set(pset.profiles)
    assert "broken-chip" not in pset.profiles
    assert BUILTIN_IDS <= set(pset.profiles)
    assert len(pset.errors) == 2
    assert all(isinstance(e, ProfileError) for e in pset.errors)
    assert "b-broken.yaml" in str(pset.errors[0]) and "'train_mfu'" in str(pset.errors[0])
    assert "c-junk.yaml" in str(pset.errors[1]) and "UTF-8" in str(pset.errors[1])
    with pytest.raises(ProfileError, match=r"unknown hardware 'broken-chip'.*2 user profile"):
        get_profile("broken-chip", pset)


def test_duplicate_user_ids_first_wins(tmp_path):
    write(tmp_path / "a.yaml", valid_profile(display_name="first"))
    write(tmp_path / "b.yaml", valid_profile(display_name="second"))
    pset = load_profiles(tmp_path)
    assert pset.profiles["my-chip"].display_name == "first"
    assert len(pset.errors) == 1 and "b.yaml" in str(pset.errors[0])
    assert "already defined" in str(pset.errors[0])


def test_missing_user_dir_is_not_an_error(tmp_path):
    pset = load_profiles(tmp_path / "does-not-exist")
    assert pset.errors == [] and set(pset.profiles) == BUILTIN_IDS


def test_user_dir_that_is_a_file_is_reported(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    pset = load_profiles(f)
    assert set(pset.profiles) == BUILTIN_IDS
    assert len(pset.errors) == 1 and "not a directory" in str(pset.errors[0])


def test_mutating_a_returned_set_does_not_leak(tmp_path):
    pset = load_profiles(tmp_path)
    del pset.profiles["h100-sxm"]
    assert "h100-sxm" in load_profiles(tmp_path).profiles


# --------------------------------------------------------------------------------------
# get_profile
# --------------------------------------------------------------------------------------


def test_get_profile_by_id_path_and_instance(tmp_path):
    h100 = get_profile("h100-sxm")
    assert h100.id == "h100-sxm"
    assert get_profile("H100-SXM").id == "h100-sxm"
    assert get_profile(h100) is h100
    path = write(tmp_path / "x.yaml", valid_profile(id="from-path"))
    assert get_profile(path).id == "from-path"


def test_get_profile_unknown_lists_ids():
    with pytest.raises(ProfileError, match=r"unknown hardware 'h300'.*a100-40gb.*mi300x"):
        get_profile("h300")


def test_get_profile_bad_path_names_file(tmp_path):
    path = write(tmp_path / "bad.yaml", valid_profile(power_w=-5))
    with pytest.raises(ProfileError, match=r"bad\.yaml: field 'power_w'"):
        get_profile(path)


def test_borrowed_and_uncertain_figures_are_labelled():
    b = builtin_profiles()
    assert "estimate" in b["mi300x"].notes.lower() and "price" in b["mi300x"].notes.lower()
    assert "not verified" in b["mi300x"].notes.lower()
    assert "not in the docs" in b["tpu-v4"].notes.lower()
    assert "fp8" in b["tpu-v5p"].notes.lower()
    for pid in ("tpu-v4", "tpu-v5e", "tpu-v5p", "tpu-v6e"):
        assert "publishes no" in b[pid].notes.lower() or "publishes neither" in b[pid].notes.lower()


def test_effective_fraction_consistent_with_fields():
    for p in builtin_profiles().values():
        assert math.isclose(p.effective_train_fraction, p.train_mfu * p.train_goodput)
        assert copy.deepcopy(p) == p


# --------------------------------------------------------------------------------------
# Schema 2: new fields and their errors (each names the file, the field and the fix)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("change, field_name, words", [
    ({"scale_up": {"domain_chips": 0, "gb_per_s": 400}}, "scale_up.domain_chips", "1 = no"),
    ({"scale_up": {"domain_chips": 8.5, "gb_per_s": 400}}, "scale_up.domain_chips", "whole"),
    ({"scale_up": {"domain_chips": True, "gb_per_s": 400}}, "scale_up.domain_chips", "whole"),
    ({"scale_up": {"domain_chips": 8, "gb_per_s": 9e5}}, "scale_up.gb_per_s", "per direction"),
    ({"scale_up": {"gb_per_s": 400}}, "scale_up.domain_chips", "missing"),
    ({"scale_up": {"domain_chips": 8}}, "scale_up.gb_per_s", "missing"),
    ({"scale_up": {"domain_chips": 8, "gb_per_s": 400, "gbps": 3}}, "scale_up.gbps", "unknown"),
    ({"scale_up": [8, 400]}, "scale_up", "mapping"),
    ({"scale_up": {"domain_chips": 8, "gb_per_s": 400, "link": 7}}, "scale_up.link", "non-empty"),
    ({"scale_out": {"gb_per_s": 0}}, "scale_out.gb_per_s", "out of range"),
    ({"scale_out": {"gb_per_s": 400e9}}, "scale_out.gb_per_s", "per direction"),  # B/s typed
    ({"scale_out": {"link": "IB"}}, "scale_out.gb_per_s", "missing"),
    ({"memory_bandwidth_tb_per_s": 3350}, "memory_bandwidth_tb_per_s", "TB/s"),  # GB/s typed
    ({"family": "NVIDIA Hopper"}, "family", "family id"),
    ({"family": ""}, "family", "non-empty"),
    ({"calibration": {"status": "guessed"}}, "calibration.status",
     "calibrated, borrowed, measured"),
    ({"calibration": {"status": "borrowed"}}, "calibration.from_family", "nvidia-hopper"),
    ({"calibration": {"status": "borrowed", "from_family": "acme-npu"}},
     "calibration.from_family", "own family"),
    ({"calibration": {"status": "measured", "from_family": "google-tpu"}},
     "calibration.from_family", "only for status"),
    ({"calibration": {"note": "x"}}, "calibration.status", "missing"),
    ({"calibration": {"status": "measured", "source": "x"}}, "calibration.source", "unknown"),
    ({"memory_bandwidth_tbps": 4.0}, "memory_bandwidth_tbps", "memory_bandwidth_tb_per_s"),
    ({"interconnect_gbps": 800}, "interconnect_gbps", "scale_up"),
])
def test_schema2_field_errors(tmp_path, change, field_name, words):
    path = tmp_path / "bad.yaml"
    write(path, valid_profile(**change))
    with pytest.raises(ProfileError) as info:
        load_profile_file(path)
    msg = str(info.value)
    assert str(path) in msg and f"'{field_name}'" in msg and words in msg, msg
    assert info.value.field == field_name
    assert "\n" not in msg


@pytest.mark.parametrize("missing", ["family", "scale_up", "scale_out",
                                     "memory_bandwidth_tb_per_s"])
def test_schema2_required_fields(tmp_path, missing):
    d = valid_profile()
    del d[missing]
    msg = load_error(tmp_path, d)
    assert "missing field" in msg and f"'{missing}'" in msg


def test_domain_chips_accepts_a_whole_float(tmp_path):
    d = valid_profile(scale_up={"domain_chips": 72.0, "gb_per_s": 900})
    assert load_profile_file(write(tmp_path / "f.yaml", d)).scale_up_domain_chips == 72


def test_link_text_is_optional(tmp_path):
    d = valid_profile(scale_up={"domain_chips": 1, "gb_per_s": 64}, scale_out={"gb_per_s": 25})
    p = load_profile_file(write(tmp_path / "f.yaml", d))
    assert (p.scale_up_link, p.scale_out_link) == ("", "")
    assert "link" not in p.to_dict()["scale_up"]


def test_capacity_block_tier_loads(tmp_path):
    prices = {"capacity_block": {"usd_per_hour": 4.9, "date": "late 2024", "provider": "AWS",
                                 "source": "Capacity Blocks page"}}
    p = load_profile_file(write(tmp_path / "cb.yaml", valid_profile(prices=prices)))
    assert p.price_tiers() == ["capacity_block"] and "capacity_block" in PRICE_TIERS
    assert p.price_usd_per_hour("capacity_block") == 4.9


# --------------------------------------------------------------------------------------
# Utilisation constants: optional in schema 2, inherited from the family's built-ins
# --------------------------------------------------------------------------------------


def test_user_profile_without_constants_inherits_its_family(tmp_path):
    d = valid_profile(family="nvidia-hopper")
    for k in ("train_mfu", "train_goodput", "inference_utilization"):
        del d[k]
    p = load_profile_file(write(tmp_path / "h.yaml", d))
    h100 = builtin_profiles()["h100-sxm"]
    assert (p.train_mfu, p.train_goodput, p.inference_utilization) == (
        h100.train_mfu, h100.train_goodput, h100.inference_utilization)
    assert p.defaults_from == "h100-sxm"
    assert p.calibration == h100.calibration and p.is_calibrated
    # Saved again, the constants stay inherited (not pinned to today's values).
    again = p.to_dict()
    assert "train_mfu" not in again and again["calibration"]["status"] == "calibrated"
    assert p.to_report_dict()["train_mfu"] == h100.train_mfu


def test_borrowing_family_inherits_the_borrowed_status(tmp_path):
    d = valid_profile(family="nvidia-blackwell")
    for k in ("train_mfu", "train_goodput", "inference_utilization"):
        del d[k]
    p = load_profile_file(write(tmp_path / "b.yaml", d))
    assert p.calibration.status == "borrowed" and p.calibration.from_family == "nvidia-hopper"
    assert p.defaults_from in {"b200", "gb200", "b300", "gb300"}


def test_partly_pinned_constants_are_measured(tmp_path):
    d = valid_profile(family="google-tpu", train_mfu=0.55)
    del d["train_goodput"], d["inference_utilization"]
    p = load_profile_file(write(tmp_path / "t.yaml", d))
    assert p.train_mfu == 0.55 and p.train_goodput == builtin_profiles()["tpu-v4"].train_goodput
    assert p.calibration.status == "measured" and "tpu-v4" in p.calibration.note
    assert p.defaults_from == ""


def test_unknown_family_must_pin_its_constants(tmp_path):
    d = valid_profile()
    del d["train_goodput"]
    msg = load_error(tmp_path, d)
    assert "'train_goodput'" in msg and "acme-npu" in msg and "nvidia-hopper" in msg


# --------------------------------------------------------------------------------------
# Version-1 files: migrated, with a warning per assumption
# --------------------------------------------------------------------------------------


def test_v1_file_is_migrated_with_warnings(tmp_path):
    path = write(tmp_path / "old.yaml", v1_profile())
    p = load_profile_file(path)
    assert p.memory_bandwidth_tb_per_s == 4.0
    assert p.scale_up_gb_per_s == 400.0  # interconnect_gbps 800 was both directions
    assert p.family == "acme-test"
    assert p.calibration.status == "measured"
    assert p.prices["on_demand"].provider == "not given (version-1 file)"
    text = " | ".join(p.warnings)
    assert all(w.startswith("migrated from schema_version 1: ") for w in p.warnings)
    for words in ("family = 'acme-test'", "not a known family", "scale_up.gb_per_s = 400",
                  "interconnect_gbps = 800", "scale_up.domain_chips = 8",
                  "scale_out.gb_per_s = 25", "provider", "calibration.status = 'measured'"):
        assert words in text, words
    # It runs like any profile, and saves as schema 2 without the warnings' assumptions lost.
    again = load_profile_file(write(tmp_path / "new.yaml",
                                    {k: v for k, v in p.to_dict().items() if k != "origin"}))
    assert again.warnings == () and again.scale_up_gb_per_s == 400.0


def test_v1_copy_of_a_builtin_takes_its_topology_and_calibration(tmp_path):
    h = builtin_profiles()["h100-sxm"]
    d = v1_profile(id="h100-sxm", vendor="NVIDIA", generation="hopper", interconnect_gbps=900,
                   memory_bandwidth_tbps=3.35, train_mfu=h.train_mfu,
                   train_goodput=h.train_goodput)
    p = load_profile_file(write(tmp_path / "h100.yaml", d))
    assert p.family == "nvidia-hopper"
    assert (p.scale_up_domain_chips, p.scale_up_gb_per_s, p.scale_out_gb_per_s) == (8, 450, 50)
    assert p.calibration == h.calibration
    text = " | ".join(p.warnings)
    assert "family = 'nvidia-hopper' assumed from vendor 'NVIDIA'" in text
    assert "the built-in profile 'h100-sxm'" in text


@pytest.mark.parametrize("vendor, generation, family, domain, out", [
    ("NVIDIA", "Ampere", "nvidia-ampere", 8, 25.0),
    ("NVIDIA", "blackwell-ultra", "nvidia-blackwell", 8, 50.0),
    ("Google", "tpu-v3", "google-tpu", 256, 12.5),
    ("AMD", "cdna2", "amd-cdna", 8, 50.0),
    ("Amazon", "trainium1", "aws-trainium", 16, 25.0),
])
def test_v1_family_and_topology_guesses(tmp_path, vendor, generation, family, domain, out):
    p = load_profile_file(write(tmp_path / "g.yaml", v1_profile(vendor=vendor,
                                                                 generation=generation)))
    assert (p.family, p.scale_up_domain_chips, p.scale_out_gb_per_s) == (family, domain, out)
    assert any("assumed from" in w for w in p.warnings)


def test_v1_same_generation_as_a_builtin_copies_its_topology(tmp_path):
    p = load_profile_file(write(tmp_path / "v5p.yaml", v1_profile(
        id="my-v5p", vendor="Google", generation="tpu-v5p", interconnect_gbps=1200)))
    assert (p.scale_up_domain_chips, p.scale_out_gb_per_s) == (6144, 6.25)
    assert any("'tpu-v5p'" in w for w in p.warnings)


@pytest.mark.parametrize("change, drop, field_name, words", [
    ({}, "interconnect_gbps", "interconnect_gbps", "convert it to schema_version 2"),
    ({}, "train_mfu", "train_mfu", "missing"),
    ({"interconnect_gbps": -5}, None, "interconnect_gbps", "both directions"),
    ({"memory_bandwidth_tbps": "fast"}, None, "memory_bandwidth_tbps", "must be a number"),
    ({"scale_up": {"domain_chips": 8, "gb_per_s": 1}}, None, "scale_up",
     "set schema_version: 2"),
    ({"family": "nvidia-hopper"}, None, "family", "set schema_version: 2"),
    ({"prices": {"on_demand": {"usd_per_hour": 2.0, "date": "2026", "source": "q",
                               "provider": "p"}}}, None, "prices.on_demand.provider",
     "unknown field"),
])
def test_v1_files_that_cannot_be_migrated(tmp_path, change, drop, field_name, words):
    d = v1_profile(**change)
    if drop:
        del d[drop]
    path = tmp_path / "old.yaml"
    write(path, d)
    with pytest.raises(ProfileError) as info:
        load_profile_file(path)
    msg = str(info.value)
    assert str(path) in msg and f"'{field_name}'" in msg and words in msg, msg
    assert info.value.field == field_name


def test_profile_set_collects_warnings(tmp_path):
    write(tmp_path / "old.yaml", v1_profile(id="old-chip"))
    write(tmp_path / "new.yaml", valid_profile(id="new-chip"))
    pset = load_profiles(tmp_path)
    assert pset.errors == []
    lines = pset.warnings()
    prefix = str(tmp_path / "old.yaml") + ": migrated"
    assert lines and all(line.startswith(prefix) for line in lines)
    assert pset.profiles["new-chip"].warnings == ()
    assert pset.profiles["old-chip"].to_report_dict()["warnings"] == list(
        pset.profiles["old-chip"].warnings)


def test_builtins_cannot_be_version_1():
    with pytest.raises(ProfileError, match="built-in profiles must be schema_version 2"):
        profile_from_dict(v1_profile(), where="built-in profile x.yaml")


# --------------------------------------------------------------------------------------
# Price dates and staleness (today injected)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("2026-04-18", datetime.date(2026, 4, 18)),
    ("2026-04", datetime.date(2026, 4, 1)),
    ("2026/4", datetime.date(2026, 4, 1)),
    ("2023", datetime.date(2023, 7, 1)),
    ("early 2026", datetime.date(2026, 2, 1)),
    ("Early 2026", datetime.date(2026, 2, 1)),
    ("mid-2025", datetime.date(2025, 6, 1)),
    ("late 2024", datetime.date(2024, 11, 1)),
    ("end of 2024", datetime.date(2024, 12, 1)),
    ("Q3 2025", datetime.date(2025, 8, 1)),
    ("H2 2024", datetime.date(2024, 10, 1)),
    ("summer 2025", datetime.date(2025, 7, 1)),
    ("Apr 2026", datetime.date(2026, 4, 1)),
    ("December 2024", datetime.date(2024, 12, 1)),
    ("April 18, 2026", datetime.date(2026, 4, 18)),
    ("18 Apr 2026", datetime.date(2026, 4, 18)),
    ("sometime", None),
    ("2026-13", None),
    ("2026-02-30", None),
    ("recently", None),
    ("early", None),
    ("", None),
    ("99999", None),
])
def test_parse_price_date(text, expected):
    assert parse_price_date(text) == expected


@pytest.mark.parametrize("date, status, age", [
    ("2026-11", "fresh", 1),
    ("early 2026", "fresh", 10),
    ("2025-12-01", "fresh", 12),   # exactly 12 months: not older than 12
    ("2025-11-30", "stale", 12),   # a day more
    ("2025-12", "fresh", 12),
    ("late 2024", "stale", 25),
    ("2022-08-11", "stale", 51),
    ("2027-03", "unknown", -3),    # after today: a typo to check
    ("whenever", "unknown", None),
])
def test_price_freshness_with_an_injected_today(date, status, age):
    price = Price(2.0, date, "a quote", provider="a cloud")
    f = price.freshness(today=TODAY)
    assert (f.status, f.age_months) == (status, age)
    assert f.flagged == (status != "fresh")
    assert price.is_stale(TODAY) == {"fresh": False, "stale": True, "unknown": None}[status]
    assert date in f.message
    if status == "unknown" and age is None:
        assert "cannot be read" in f.message and "2026-04" in f.message


def test_freshness_defaults_to_the_real_today(monkeypatch):
    monkeypatch.delenv("ESTIMATOR_TODAY", raising=False)
    far = Price(1.0, "2000-01", "old", provider="p").freshness()
    assert far.status == "stale" and far.today == datetime.date.today()
    monkeypatch.setenv("ESTIMATOR_TODAY", "2001-02-03")  # a pinned date (reproducible reports)
    assert Price(1.0, "2000-01", "old", provider="p").freshness().today == \
        datetime.date(2001, 2, 3)
    monkeypatch.setenv("ESTIMATOR_TODAY", "not a date")  # a malformed pin: the system date
    assert Price(1.0, "2000-01", "old", provider="p").freshness().today == datetime.date.today()


def test_stale_price_tiers_of_the_catalogue_on_2026_12_01():
    b = builtin_profiles()
    assert b["h100-sxm"].stale_price_tiers(TODAY) == ["capacity_block"]
    assert b["a100-80gb"].stale_price_tiers(TODAY) == []
    assert b["tpu-v6e"].stale_price_tiers(TODAY) == ["on_demand", "reserved"]
    assert b["tpu-v7"].stale_price_tiers(TODAY) == ["on_demand"]  # anchored on v6e's 2024 price
    # A year later, the early-2026 quotes are stale too.
    assert b["h100-sxm"].stale_price_tiers(datetime.date(2027, 6, 1)) == list(PRICE_TIERS)
