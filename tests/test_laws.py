"""Scaling laws: built-in constants match the papers; the loader rejects bad files clearly."""

import math

import numpy as np
import pytest

from estimator.errors import LawError
from estimator.laws import (
    KaplanLaw,
    ParametricLaw,
    builtin_laws,
    get_law,
    law_from_dict,
    load_law_file,
    save_law_file,
)


def test_builtin_laws_and_constants_match_references():
    laws = builtin_laws()
    assert set(laws) >= {"epoch-2024", "chinchilla-2022", "kaplan-2020", "ludziejewski-2025"}
    epoch = laws["epoch-2024"]
    # Besiroglu et al. 2024 Table 1 (scaling_laws.md section 2a)
    assert epoch.constants() == {
        "E": 1.8172,
        "A": 482.01,
        "B": 2085.43,
        "alpha": 0.3478,
        "beta": 0.3658,
    }
    assert epoch.stderr["A"] == 124.58
    hoff = laws["chinchilla-2022"]
    assert hoff.constants() == {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
    kap = laws["kaplan-2020"]
    assert isinstance(kap, KaplanLaw)
    assert (kap.N_c, kap.D_c, kap.alpha_N, kap.alpha_D) == (6.4e13, 1.8e13, 0.076, 0.103)
    assert kap.comparable is False and "non-embedding" in kap.notes.lower()
    for law in laws.values():
        assert law.name and law.citation and law.dataset
        # an honest comparable flag: only the MassiveText (Chinchilla-family) laws are
        assert law.comparable == ("MassiveText" in law.dataset)
        fr = law.fitted_range
        assert 0 < fr.params_min < fr.params_max and 0 < fr.tokens_min < fr.tokens_max


def test_default_law_is_epoch():
    assert get_law().id == "epoch-2024"
    assert get_law(None).id == "epoch-2024"


def test_parametric_loss_closed_form_value():
    law = get_law("chinchilla-2022")
    n, d = 70e9, 1.4e12
    expected = 1.69 + 406.4 / n**0.34 + 410.7 / d**0.28
    assert law.loss(n, d) == pytest.approx(expected, rel=1e-14)
    # vectorised
    out = law.loss(np.array([n, 2 * n]), np.array([d, d]))
    assert out.shape == (2,) and out[1] < out[0]


def test_kaplan_joint_form_value():
    law = get_law("kaplan-2020")
    n, d = 1e9, 2e10
    expected = ((6.4e13 / n) ** (0.076 / 0.103) + 1.8e13 / d) ** 0.103
    assert law.loss(n, d) == pytest.approx(expected, rel=1e-14)
    # Kaplan eq. 1.5 limits: D -> inf gives (N_c/N)^alpha_N
    assert law.loss_at_infinite_data(n) == pytest.approx((6.4e13 / n) ** 0.076)


@pytest.mark.parametrize(
    "law_id", ["epoch-2024", "chinchilla-2022", "kaplan-2020", "ludziejewski-2025"]
)
def test_analytic_gradients_match_finite_differences(law_id):
    law = get_law(law_id)
    n, d = 3e9, 6e10
    dn, dd = law.dloss_dlog(n, d)
    h = 1e-6
    fd_n = (law.loss(n * math.exp(h), d) - law.loss(n * math.exp(-h), d)) / (2 * h)
    fd_d = (law.loss(n, d * math.exp(h)) - law.loss(n, d * math.exp(-h))) / (2 * h)
    assert dn == pytest.approx(fd_n, rel=1e-6)
    assert dd == pytest.approx(fd_d, rel=1e-6)


def test_closed_form_inverses_are_inverses():
    law = get_law("epoch-2024")
    n = np.array([1e10, 7e10])
    target = 2.1
    d = law.tokens_for_loss(n, target)
    assert np.allclose(law.loss(n, d), target, rtol=1e-12)
    dd = np.array([1e11, 1e13])
    nn = law.params_for_loss(dd, target)
    assert np.allclose(law.loss(nn, dd), target, rtol=1e-12)
    # unreachable: a 1e6-param model can't reach 2.1 with any data
    assert np.isinf(law.tokens_for_loss(1e6, target))


def _law_dict(**over):
    d = {
        "id": "mine",
        "form": "parametric",
        "constants": {"E": 1.8, "A": 400.0, "B": 2000.0, "alpha": 0.34, "beta": 0.36},
        "citation": "my runs",
        "fitted_range": {"params": [1e8, 1e10], "tokens": [1e9, 1e11]},
    }
    d.update(over)
    return d


def test_user_law_file_round_trip(tmp_path):
    p = tmp_path / "mine.yaml"
    law = law_from_dict(_law_dict())
    save_law_file(law, p)
    again = load_law_file(p)
    assert isinstance(again, ParametricLaw)
    assert again.constants() == law.constants()
    assert get_law(str(p)).loss(1e9, 1e10) == pytest.approx(law.loss(1e9, 1e10))


@pytest.mark.parametrize(
    "data, fragment",
    [
        ("just text", "expected a mapping"),
        (_law_dict(constants={"E": 1.8, "A": 400.0, "B": 2000.0, "alpha": 0.34}), "constants.beta"),
        (
            _law_dict(constants={"E": 1.8, "A": "lots", "B": 2000.0, "alpha": 0.34, "beta": 0.3}),
            "constants.A",
        ),
        (
            _law_dict(constants={"E": 1.8, "A": 400.0, "B": 2000.0, "alpha": -0.3, "beta": 0.3}),
            "constants.alpha",
        ),
        (
            _law_dict(constants={"E": 1.8, "A": 400.0, "B": 2000.0, "alpha": 1e9, "beta": 0.3}),
            "constants.alpha",
        ),
        (_law_dict(form="quadratic"), "form"),
        (_law_dict(citation=""), "citation"),
        (
            _law_dict(fitted_range={"params": [1e10, 1e8], "tokens": [1e9, 1e11]}),
            "fitted_range.params",
        ),
        (_law_dict(fitted_range=None), "fitted_range"),
        (_law_dict(colour="blue"), "unknown field"),
    ],
)
def test_invalid_law_dicts_name_the_field(data, fragment):
    with pytest.raises(LawError) as err:
        law_from_dict(data, where="x.yaml")
    assert fragment in str(err.value)
    assert "x.yaml" in str(err.value)


def test_malformed_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: [unclosed\n")
    with pytest.raises(LawError, match=r"bad.yaml: not valid YAML at line"):
        load_law_file(bad)
    with pytest.raises(LawError, match="not found"):
        load_law_file(tmp_path / "nope.yaml")
    with pytest.raises(LawError, match="unknown law 'gpt-9'"):
        get_law("gpt-9")


def test_yaml_object_tags_are_refused(tmp_path):
    evil = tmp_path / "evil.yaml"
    evil.write_text("!!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(LawError, match="YAML tag not allowed"):
        load_law_file(evil)
