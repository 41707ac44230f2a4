"""Two components of a real-data book build, timed on this machine (benchmarks/real_data_build.md):
the VGG16 base at 150x150 (PyTorch, random weights: the cost does not depend on them) and
decode_image on photo-sized JPEGs. Run: python benchmarks/real_data_components.py"""
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFilter
from torchvision.models import vgg16

from coursekit.data.catsdogs import decode_image


def vgg16_ms_per_image(threads: int, batch: int = 8) -> float:
    torch.set_num_threads(threads)
    model = vgg16(weights=None).features.eval()
    x = torch.rand(batch, 3, 150, 150)
    with torch.no_grad():
        model(x[:1])  # warm-up
        start = time.perf_counter()
        model(x)
    return (time.perf_counter() - start) / batch * 1000


def decode_ms_per_image(n: int = 40) -> float:
    folder = Path(tempfile.mkdtemp())
    rng = np.random.default_rng(0)
    for i in range(n):  # about the size of a PetImages photo
        noise = Image.fromarray(rng.integers(0, 255, (375, 500, 3), dtype=np.uint8))
        noise.filter(ImageFilter.GaussianBlur(2)).save(folder / f"{i}.jpg", quality=90)
    start = time.perf_counter()
    for path in folder.glob("*.jpg"):
        decode_image(path, size=(150, 150))
    return (time.perf_counter() - start) / n * 1000


if __name__ == "__main__":
    for threads in (1, 2):
        print(f"torch VGG16 features, 150x150, {threads} thread(s): {vgg16_ms_per_image(threads):.0f} ms per image")
    print(f"decode_image 500x375 JPEG -> 150x150: {decode_ms_per_image():.1f} ms per image")
