"""The offline stand-in for ImageNet pretraining (coursekit.pretrain), on a tiny recipe: the cache
key follows the recipe, the cache is written once and reused, batch norm folds exactly, and the
Keras conversion computes what the PyTorch convolutions compute."""
import numpy as np
import pytest
import torch

from coursekit import pretrain

# a few steps on a few pictures: the mechanics, in about a second (the real recipe takes minutes)
TINY = dict(pretrain.RECIPE, pictures=66, test_pictures=33, steps=(2, 1, 1, 1, 0), batch=8)


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSEKIT_DATA", str(tmp_path))
    return tmp_path


def test_the_cache_key_follows_the_recipe(data):
    assert pretrain.recipe_key(TINY) == pretrain.recipe_key(dict(TINY))
    assert pretrain.recipe_key(TINY) != pretrain.recipe_key(dict(TINY, seed=1))
    assert pretrain.recipe_key(TINY) != pretrain.recipe_key(dict(TINY, steps=(2, 1, 1, 1, 1)))
    assert pretrain.cache_path(TINY).parent == data / "pretrained"
    assert pretrain.cache_path() == pretrain.cache_path(pretrain.RECIPE) != pretrain.cache_path(TINY)


def test_the_source_task_is_balanced_and_seeded():
    pictures, labels = pretrain.source_pictures(66, seed=3)
    assert pictures.shape == (66, 32, 32, 3) and pictures.dtype == np.uint8
    assert np.bincount(labels).tolist() == [2] * len(pretrain.SOURCE_CLASSES)
    again, _ = pretrain.source_pictures(66, seed=3)
    assert np.array_equal(pictures, again) and not np.array_equal(pictures, pretrain.source_pictures(66, seed=4)[0])


def test_trained_once_then_loaded_from_the_cache(data, monkeypatch):
    from torchvision.models import vgg16

    lines = []
    state = pretrain.standin_state(TINY, log=lines.append)
    assert lines[0].startswith("stand-in pretraining:") and len(lines) == 7  # a line per block, one when cached
    expected = vgg16(weights=None).features.state_dict()
    assert {k: v.shape for k, v in state.items()} == {k: v.shape for k, v in expected.items()}
    assert [p.name for p in (data / "pretrained").iterdir() if not p.name.endswith(".lock")] \
        == [pretrain.cache_path(TINY).name]  # no partial file left behind

    def no_training(*args, **kwargs):
        raise AssertionError("trained again instead of reading the cache")

    monkeypatch.setattr(pretrain, "train", no_training)
    lines.clear()
    again = pretrain.standin_state(TINY, log=lines.append)
    assert len(lines) == 1 and "stand-in" in lines[0] and "(not ImageNet)" in lines[0]
    assert all(torch.equal(state[k], again[k]) for k in state)


def test_batch_norm_folds_exactly():
    torch.manual_seed(0)
    block = pretrain._block(3, (8, 8), batch_norm=True)
    for layer in block:
        if isinstance(layer, torch.nn.BatchNorm2d):  # statistics and affine parameters far from the defaults
            layer.running_mean.uniform_(-1, 1)
            layer.running_var.uniform_(0.5, 2)
            layer.weight.data.uniform_(0.5, 2)
            layer.bias.data.uniform_(-1, 1)
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        before = block.eval()(x)
        after = pretrain._fold(block)(x)
    assert len(pretrain._fold(block)) == 5 and torch.allclose(before, after, atol=1e-5)


def test_the_keras_convolutions_compute_what_the_torch_ones_do():
    """Keras' first convolution on preprocess_input's BGR input equals PyTorch's on torchvision's
    standardised RGB input away from the zero-padded border; the second is the same layer exactly."""
    import keras
    from keras.applications.vgg16 import preprocess_input
    from torchvision.models import vgg16

    torch.manual_seed(0)
    features = vgg16(weights=None).features.eval()
    with torch.no_grad():  # biases away from zero, so the first layer's bias correction shows
        for index in (0, 2):
            features[index].bias.uniform_(-0.5, 0.5)
    pixels = np.random.default_rng(0).integers(0, 256, (2, 12, 12, 3)).astype(np.float32)
    x = torch.from_numpy(pixels / 255).permute(0, 3, 1, 2)
    x = (x - torch.tensor(pretrain.IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(pretrain.IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        first = features[0](x)
        second = features[2](torch.relu(first))
    (k1, b1), (k2, b2) = pretrain.keras_weights(features.state_dict())[:2]
    assert k1.shape == (3, 3, 3, 64) and k2.shape == (3, 3, 64, 64) and b1.shape == (64,)
    conv1 = keras.layers.Conv2D(64, 3, padding="same")
    conv2 = keras.layers.Conv2D(64, 3, padding="same")
    conv1.build((None, 12, 12, 3))
    conv2.build((None, 12, 12, 64))
    conv1.set_weights([k1, b1])
    conv2.set_weights([k2, b2])
    keras_first = keras.ops.convert_to_numpy(conv1(preprocess_input(pixels.copy())))
    torch_first = first.permute(0, 2, 3, 1).numpy()
    assert np.allclose(keras_first[:, 1:-1, 1:-1], torch_first[:, 1:-1, 1:-1], atol=1e-4)
    keras_second = keras.ops.convert_to_numpy(conv2(np.maximum(torch_first, 0)))
    assert np.allclose(keras_second, second.permute(0, 2, 3, 1).numpy(), atol=1e-4)


def test_load_into_keras_fills_all_13_convolutions():
    import keras
    from torchvision.models import vgg16

    torch.manual_seed(0)
    state = vgg16(weights=None).features.state_dict()
    base = pretrain.load_into_keras(keras.applications.VGG16(include_top=False, weights=None,
                                                             input_shape=(32, 32, 3)), state)
    last = base.get_layer("block5_conv3").get_weights()
    assert np.array_equal(last[0], state["28.weight"].permute(2, 3, 1, 0).numpy())
    assert np.array_equal(last[1], state["28.bias"].numpy())
