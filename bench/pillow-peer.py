"""Pillow + numpy peer for `npm run bench -- tiling`: the InternVL2 model card's load_image on the same files.

usage: pillow-peer.py SECONDS MAX_TILES IMAGE...
Prints one JSON line: {"pillow": "9.4.0", "numpy": "...", "images": n, "tiles": t, "seconds": s}.
build_transform's ToTensor + Normalize is written with numpy (torchvision is not installed here); it performs the same
float32 operations (x / 255, then (x - mean) / std) that torchvision does on CPU. One thread: numpy's elementwise
ops do not multithread, Pillow's resize is single-threaded.
"""
import json
import sys
import time

import numpy as np
import PIL
from PIL import Image

MEAN = np.array((0.485, 0.456, 0.406), dtype=np.float32).reshape(3, 1, 1)
STD = np.array((0.229, 0.224, 0.225), dtype=np.float32).reshape(3, 1, 1)


def find_closest_aspect_ratio(aspect_ratio, target_ratios, width, height, image_size):
    best_ratio_diff = float("inf")
    best_ratio = (1, 1)
    area = width * height
    for ratio in target_ratios:
        target_aspect_ratio = ratio[0] / ratio[1]
        ratio_diff = abs(aspect_ratio - target_aspect_ratio)
        if ratio_diff < best_ratio_diff:
            best_ratio_diff = ratio_diff
            best_ratio = ratio
        elif ratio_diff == best_ratio_diff:
            if area > 0.5 * image_size * image_size * ratio[0] * ratio[1]:
                best_ratio = ratio
    return best_ratio


def dynamic_preprocess(image, min_num=1, max_num=12, image_size=448, use_thumbnail=False):
    orig_width, orig_height = image.size
    aspect_ratio = orig_width / orig_height
    target_ratios = set(
        (i, j)
        for n in range(min_num, max_num + 1)
        for i in range(1, n + 1)
        for j in range(1, n + 1)
        if i * j <= max_num and i * j >= min_num
    )
    target_ratios = sorted(target_ratios, key=lambda x: x[0] * x[1])
    target_aspect_ratio = find_closest_aspect_ratio(aspect_ratio, target_ratios, orig_width, orig_height, image_size)
    target_width = image_size * target_aspect_ratio[0]
    target_height = image_size * target_aspect_ratio[1]
    blocks = target_aspect_ratio[0] * target_aspect_ratio[1]
    resized_img = image.resize((target_width, target_height))
    processed_images = []
    for i in range(blocks):
        box = (
            (i % (target_width // image_size)) * image_size,
            (i // (target_width // image_size)) * image_size,
            ((i % (target_width // image_size)) + 1) * image_size,
            ((i // (target_width // image_size)) + 1) * image_size,
        )
        processed_images.append(resized_img.crop(box))
    if use_thumbnail and len(processed_images) != 1:
        processed_images.append(image.resize((image_size, image_size)))
    return processed_images


def transform(img):
    # T.Resize((448, 448), BICUBIC) on a 448x448 tile returns a copy; ToTensor; Normalize.
    img = img.resize((448, 448), Image.BICUBIC)
    x = np.asarray(img, dtype=np.uint8).transpose(2, 0, 1).astype(np.float32) / np.float32(255)
    return (x - MEAN) / STD


def load_image(image_file, max_num):
    image = Image.open(image_file).convert("RGB")
    images = dynamic_preprocess(image, image_size=448, use_thumbnail=True, max_num=max_num)
    return np.stack([transform(im) for im in images])


def main():
    seconds = float(sys.argv[1])
    max_num = int(sys.argv[2])
    files = sys.argv[3:]
    for f in files:
        load_image(f, max_num)  # warm-up (page cache, allocator)
    n = tiles = 0
    t0 = time.perf_counter()
    while True:
        for f in files:
            tiles += load_image(f, max_num).shape[0]
            n += 1
        if time.perf_counter() - t0 >= seconds:
            break
    dt = time.perf_counter() - t0
    print(json.dumps({"pillow": PIL.__version__, "numpy": np.__version__, "images": n, "tiles": tiles, "seconds": dt}))


if __name__ == "__main__":
    main()
