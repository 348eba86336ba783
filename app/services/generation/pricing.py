"""What a generation may ask for on each tier, and what it costs."""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.core.generation import GenerationParams


@dataclass(frozen=True)
class TierLimits:
    max_side: int
    max_steps: int
    max_images: int


TIER_LIMITS: dict[str, TierLimits] = {
    "free": TierLimits(max_side=768, max_steps=30, max_images=1),
    "basic": TierLimits(max_side=1024, max_steps=50, max_images=2),
    "pro": TierLimits(max_side=1536, max_steps=80, max_images=4),
}
BASE_PIXELS = 512 * 512
BASE_STEPS = 25


def cost(params: GenerationParams) -> int:
    """One credit per 512x512 image of up to 25 steps; larger or longer costs more."""
    pixels = math.ceil(params.width * params.height / BASE_PIXELS)
    return params.num_images * pixels * math.ceil(params.steps / BASE_STEPS)


def limit_violations(tier: str, params: GenerationParams) -> list[tuple[str, str]]:
    """(field, message) for each request value above the tier's bound."""
    limits = TIER_LIMITS[tier]
    problems = [
        (field, f"{field} must be at most {limits.max_side} on the {tier} tier")
        for field, value in (("width", params.width), ("height", params.height))
        if value > limits.max_side
    ]
    if params.steps > limits.max_steps:
        problems.append(("steps", f"steps must be at most {limits.max_steps} on the {tier} tier"))
    if params.num_images > limits.max_images:
        problems.append(
            ("num_images", f"num_images must be at most {limits.max_images} on the {tier} tier")
        )
    return problems


def allowed_tiers(params: GenerationParams) -> list[str]:
    """The tiers whose bounds admit this request."""
    return [tier for tier in TIER_LIMITS if not limit_violations(tier, params)]
