import numpy as np
import pytest

from service.predictor import InvalidInput, Predictor, conformal_quantile
from service.registry import ModelError, current_version


@pytest.fixture
def predictor(registry):
    return Predictor.load(registry / "air_passengers" / current_version(registry, "air_passengers"))


def test_predict_slices_the_horizon(predictor):
    x = predictor.batch(["a", "b"], [list(range(100, 130)), list(range(200, 224))], 4)
    assert x.shape == (2, 24) and x.dtype == np.float32 and x[0, 0] == 106
    assert predictor.predict(x, 4).shape == (2, 4)


def test_missing_model_fails_naming_the_path(tmp_path):
    with pytest.raises(ModelError, match=str(tmp_path / "nothing" / "model.json")):
        Predictor.load(tmp_path / "nothing")


def test_truncated_model_is_refused(registry):
    version_dir = registry / "air_passengers" / current_version(registry, "air_passengers")
    onnx_file = version_dir / "model.onnx"
    onnx_file.write_bytes(onnx_file.read_bytes()[:200])
    with pytest.raises(ModelError):
        Predictor.load(version_dir)


def test_conformal_quantile_uses_the_finite_sample_rank():
    scores = [0.5, 0.1, 0.3, 0.2, 0.4]  # sorted: .1 .2 .3 .4 .5
    assert conformal_quantile(scores, 0.5) == 0.3  # ceil(6 * .5) = 3rd
    assert conformal_quantile(scores, 0.8) == 0.5  # ceil(6 * .8) = 5th
    assert conformal_quantile(scores, 0.99) == 0.5  # rank past the end: the largest


def test_levels_need_a_calibrated_model(predictor):
    with pytest.raises(InvalidInput, match="not available"):
        predictor.check_levels([80])
