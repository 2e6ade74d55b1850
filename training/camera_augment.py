"""Pixel augmentations that imitate other cameras and phones than the training sources used.

The private photos the model is judged on come from places and devices it never saw: cheap CCTV (low
resolution, heavy JPEG, noise, grey night mode), vehicle cameras (motion blur), phones (colour casts, HDR
contrast) and dusk or night shots. Ultralytics already varies geometry (scale, translation, perspective,
mosaic) and HSV; these transforms add what it does not, each image getting at most a few of them.

All transforms are pixel-level (boxes are unchanged) and serialisable, so a resumed run restores them from
its checkpoint. ``strength`` scales every probability: 0 disables them, 1 is the recipe default.
"""

from __future__ import annotations

from typing import Any


def camera_transforms(strength: float) -> list[Any]:
    """Albumentations transforms for ``YOLO.train(augmentations=...)``.

    Args:
        strength: 0..1, multiplies each transform's probability.

    Returns:
        A list of ``albumentations`` transforms (empty for strength 0).

    Raises:
        ValueError: strength outside [0, 1].
        ImportError: albumentations is missing (it is part of the [train] extra).
    """
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"camera augmentation strength must lie in [0, 1], got {strength}")
    if strength == 0.0:
        return []
    import albumentations as A  # noqa: N812 (the library's documented alias)

    def p(x: float) -> float:
        return round(x * strength, 4)

    return [
        # Lower-resolution sensors and digital zoom: detail lost, then upsampled back.
        A.Downscale(scale_range=(0.35, 0.75), p=p(0.15)),
        # Focus, vehicle motion and compression smear.
        A.OneOf(
            [
                A.GaussianBlur(blur_limit=(3, 7)),
                A.MotionBlur(blur_limit=(3, 11)),
                A.Defocus(radius=(2, 4)),
            ],
            p=p(0.2),
        ),
        # Exposure: dusk and night shots (dark, flat), backlight and HDR phones (contrasty).
        A.OneOf(
            [
                A.RandomBrightnessContrast(brightness_limit=(-0.45, 0.15), contrast_limit=(-0.35, 0.25)),
                A.RandomGamma(gamma_limit=(70, 200)),
                A.CLAHE(clip_limit=(1, 3)),
            ],
            p=p(0.3),
        ),
        # White balance: sodium street lights, shade, phone colour science.
        A.OneOf(
            [
                A.RGBShift(r_shift_limit=(-20, 20), g_shift_limit=(-15, 15), b_shift_limit=(-20, 20)),
                A.PlanckianJitter(mode="blackbody", temperature_limit=(3000, 12000)),
            ],
            p=p(0.2),
        ),
        # IR night mode of CCTV.
        A.ToGray(p=p(0.05)),
        # Sensor noise at high ISO.
        A.OneOf([A.GaussNoise(std_range=(0.02, 0.08)), A.ISONoise(intensity=(0.1, 0.4))], p=p(0.15)),
        # Streams and chat apps re-encode hard.
        A.ImageCompression(quality_range=(20, 80), p=p(0.3)),
    ]
