"""VGG16 builders: offline, "auto" says so and gives the course's stand-in base (coursekit.pretrain,
here on its tiny test recipe); "imagenet" refuses. Whether the weights can be downloaded is asked of
their own URL (here a local server)."""
import contextlib
import io

import pytest

from coursekit import pretrain, weights
from coursekit.network import DownloadError, OfflineError
from local_http import Site, closed_port, loopback_only  # noqa: F401  (a fixture)
from test_pretrain import TINY

NOTICE = ("offline (COURSEKIT_OFFLINE=1 is set) ({url}): VGG16 ImageNet weights unavailable, using the "
          "course's offline stand-in base (VGG16 pretrained here on synthetic pictures, not ImageNet)\n")


@pytest.fixture(autouse=True)
def empty_caches(tmp_path, monkeypatch):
    """No weights cached, wherever this machine keeps them."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))


def build_offline(build, data, **kwargs):
    """build(**kwargs) offline with empty caches and the stand-in's tiny recipe, built once per module
    (VGG16 takes seconds); returns (model, pretrained, what it printed, the stand-in's state)."""
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out):
        mp.setenv("COURSEKIT_OFFLINE", "1")  # module fixtures start before the autouse offline one
        mp.setenv("KERAS_HOME", "/nonexistent/keras")
        mp.setenv("TORCH_HOME", "/nonexistent/torch")
        mp.setenv("COURSEKIT_DATA", str(data))
        mp.setattr(pretrain, "RECIPE", TINY)
        model, pretrained = build(**kwargs)
        state = pretrain.standin_state(log=lambda line: None)  # the cached file the builder made
    return model, pretrained, out.getvalue(), state


@pytest.fixture(scope="module")
def keras_base(tmp_path_factory):
    return build_offline(weights.keras_vgg16_base, tmp_path_factory.mktemp("data"), input_shape=(32, 32, 3))


@pytest.fixture(scope="module")
def torch_model(tmp_path_factory):
    return build_offline(weights.torch_vgg16, tmp_path_factory.mktemp("data"))


def test_keras_offline_auto_gives_the_standin_base_of_the_right_shape(keras_base):
    import numpy as np

    base, pretrained, printed, state = keras_base
    assert pretrained is False and printed.startswith(NOTICE.format(url=weights.KERAS_NOTOP_URL))
    assert "stand-in pretraining:" in printed.splitlines()[1]  # the first build pretrains, and says so
    kernel, bias = base.get_layer("block3_conv1").get_weights()
    assert np.array_equal(kernel, state["10.weight"].permute(2, 3, 1, 0).numpy())
    assert np.array_equal(bias, state["10.bias"].numpy())
    assert base.output_shape == (None, 1, 1, 512)
    assert len(base.layers) == 19 and base.count_params() == 14_714_688
    assert base.predict(np.zeros((1, 32, 32, 3), "float32"), verbose=0).shape == (1, 1, 1, 512)


def test_torch_offline_auto_gives_the_standin_vgg16_of_the_right_shape(torch_model):
    import torch

    model, pretrained, printed, state = torch_model
    assert pretrained is False
    assert printed.startswith(NOTICE.format(url="https://download.pytorch.org/models/vgg16-397923af.pth"))
    assert all(torch.equal(value, state[name]) for name, value in model.features.state_dict().items())
    assert sum(p.numel() for p in model.parameters()) == 138_357_544
    with torch.no_grad():
        assert model.features(torch.zeros(1, 3, 32, 32)).shape == (1, 512, 1, 1)
        assert model.eval()(torch.zeros(1, 3, 32, 32)).shape == (1, 1000)


def test_auto_prints_the_one_line_notice(capsys):
    assert weights._use_imagenet("auto", cached=False, where=weights.keras_weights_path(), url="https://x.org/w") is False
    assert capsys.readouterr().out == NOTICE.format(url="https://x.org/w")


def test_the_weights_own_url_is_asked(loopback_only, capsys, tmp_path):
    """Reachable: ImageNet. Refused: "auto" says why and gives the stand-in, "imagenet" raises."""
    where = tmp_path / "w.h5"
    with Site({"/w.h5": ("ok", b"weights")}).run() as site:
        assert weights._use_imagenet("auto", cached=False, where=where, url=site.url + "/w.h5") is True
        assert site.hits == ["/w.h5"]
    refused = f"http://127.0.0.1:{closed_port()}/w.h5"
    assert weights._use_imagenet("auto", cached=False, where=where, url=refused) is False
    assert capsys.readouterr().out == f"the connection was refused ({refused}): {weights.NO_WEIGHTS}\n"
    with pytest.raises(DownloadError, match=f"cannot download {refused}: the connection was refused. "
                                            f"Use weights='random'.*{where}"):
        weights._use_imagenet("imagenet", cached=False, where=where, url=refused)


def test_keras_falls_back_to_tmp_when_home_is_not_writable(monkeypatch, tmp_path):
    """As Keras does: no writable home (or KERAS_HOME) folder means /tmp/.keras."""
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    assert weights.keras_weights_path() == tmp_path / "home" / ".keras" / "models" / weights.KERAS_NOTOP_FILE
    monkeypatch.setattr(weights.os, "access", lambda path, mode: not str(path).startswith(str(tmp_path)))
    assert weights.keras_weights_path() == weights.Path("/tmp/.keras/models") / weights.KERAS_NOTOP_FILE
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))  # not writable either
    assert weights.keras_weights_path() == weights.Path("/tmp/.keras/models") / weights.KERAS_NOTOP_FILE


def test_cached_weights_are_used_offline_without_the_network(capsys):
    assert weights._use_imagenet("auto", cached=True, where=weights.keras_weights_path(), url="u") is True
    assert weights._use_imagenet("imagenet", cached=True, where=weights.torch_weights_path(), url="u") is True
    assert capsys.readouterr().out == ""


def test_cache_paths_follow_the_frameworks(tmp_path):
    assert weights.keras_weights_path() == tmp_path / "keras" / "models" / weights.KERAS_NOTOP_FILE
    assert weights.torch_weights_path() == tmp_path / "torch" / "hub" / "checkpoints" / "vgg16-397923af.pth"


def test_imagenet_offline_raises_a_helpful_error():
    with pytest.raises(OfflineError, match="COURSEKIT_OFFLINE=1.*weights='random'.*vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"):
        weights.keras_vgg16_base(input_shape=(32, 32, 3), weights="imagenet")
    with pytest.raises(OfflineError, match="vgg16-397923af.pth"):
        weights.torch_vgg16(weights="imagenet")


def test_random_gives_random_weights_silently(capsys, tmp_path, monkeypatch):
    import torch

    monkeypatch.setenv("COURSEKIT_DATA", str(tmp_path / "data"))
    model, pretrained = weights.torch_vgg16(weights="random")
    assert pretrained is False and capsys.readouterr().out == ""
    assert not (tmp_path / "data" / "pretrained").exists()  # no stand-in made or read
    assert isinstance(model.features[0], torch.nn.Conv2d)


def test_random_and_standin_are_silent_and_unknown_choices_are_refused(capsys):
    assert weights._use_imagenet("random", cached=True, where=weights.keras_weights_path(), url="u") is False
    assert weights._use_imagenet("standin", cached=True, where=weights.keras_weights_path(), url="u") is False
    assert capsys.readouterr().out == ""
    with pytest.raises(ValueError, match="weights must be one of"):
        weights._use_imagenet("pretrained", cached=False, where=weights.keras_weights_path(), url="u")
