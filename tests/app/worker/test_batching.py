"""Cross-job batching: queued jobs that share model, size, steps and guidance are rendered
in one pipeline call, and each keeps its own start, result, charge, failure and retry."""

from __future__ import annotations

import io
import time
import uuid
from typing import Any, cast

import numpy as np
import pytest
from botocore.exceptions import ClientError
from PIL import Image

from app.core.generation import GenerationParams
from app.core.job_errors import JOB_ERRORS
from app.core.storage import ImageStorage
from app.store.jobs import PlannedImage, planned_images
from app.worker import runner
from app.worker.pipelines import render, render_batch
from app.worker.tiny_model import TINY_MODEL_ID
from tests.support.app import BUCKET, balance_and_ledger
from tests.support.worker import job_status, ledger_keys, message_of, objects_of


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The prompts of every pipeline call the worker makes, one list per call."""
    made: list[list[str]] = []
    real = runner.render_batch

    def counted(pipeline: Any, jobs: Any, on_step: Any = None) -> Any:
        made.append([params.prompt for params in jobs])
        return real(pipeline, jobs, on_step)

    monkeypatch.setattr(runner, "render_batch", counted)
    return made


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)), dtype=np.int16)


def png_of(s3: Any, key: str) -> bytes:
    body: bytes = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return body


def images_recorded(owner: Any, job_id: uuid.UUID) -> int:
    return int(owner("SELECT count(*) FROM images WHERE job_id = %s", (job_id,))[0][0])


def charged_once(owner: Any, job_id: uuid.UUID) -> bool:
    """One debit, no refund: the job was paid for once and delivered."""
    return [key for key, _ in ledger_keys(owner, job_id)] == [f"debit:{job_id}"]


def test_three_compatible_jobs_render_in_one_call_each_with_its_own_seed_and_charge(
    make_user, submit, make_worker, owner, lane, s3, pipelines, calls
):
    users = [make_user(tier="basic") for _ in range(3)]
    jobs = [
        submit(users[0], prompt="a red fox", seed=11, negative_prompt="snow"),
        submit(users[1], prompt="a blue whale", seed=22, num_images=2, negative_prompt="ship"),
        submit(users[2], prompt="a green frog", seed=33, negative_prompt="blurry"),
    ]
    worker = make_worker(batch_size=4)

    assert worker.run_batch() == ["succeeded"] * 3

    assert calls == [["a red fox", "a blue whale", "a green frog"]]
    for user, job_id in zip(users, jobs, strict=True):
        assert job_status(owner, job_id) == ("succeeded", None)
        assert charged_once(owner, job_id)
        balance, total, _ = balance_and_ledger(owner, user.id)
        assert balance == total
    assert [len(objects_of(s3, owner, job_id)) for job_id in jobs] == [1, 2, 1]
    assert [images_recorded(owner, job_id) for job_id in jobs] == [1, 2, 1]
    assert lane.queue.lengths() == {"free": 0, "basic": 0, "pro": 0}
    # Each job's images are what it renders alone (to rounding: a batched matrix product
    # may sum in another order), so prompts and seeds did not mix across jobs.
    pipeline = pipelines.get(message_of(owner, jobs[0]).params.model)
    batched = [
        [png_of(s3, image.s3_key) for image in planned_images_of(owner, job_id)] for job_id in jobs
    ]
    for job_id, pngs in zip(jobs, batched, strict=True):
        alone = render(pipeline, message_of(owner, job_id).params)
        for solo, png in zip(alone, pngs, strict=True):
            assert np.abs(pixels(solo) - pixels(png)).max() <= 1
    # Control: different seeds and prompts give different images.
    assert np.abs(pixels(batched[0][0]) - pixels(batched[2][0])).max() > 1
    assert np.abs(pixels(batched[1][0]) - pixels(batched[1][1])).max() > 1


def test_incompatible_jobs_are_not_batched_and_none_is_held_while_another_renders(
    make_user, submit, make_worker, owner, lane, calls
):
    user = make_user()
    jobs = [
        submit(user, prompt="first"),
        submit(user, prompt="more steps", steps=3),
        submit(user, prompt="taller", height=96),
        submit(user, prompt="other guidance", guidance_scale=3.0),
        submit(user, prompt="with a negative prompt", negative_prompt="blurry"),
        submit(user, prompt="like the first"),
    ]
    seen_pending: list[int] = []
    stream = lane.queue.stream("free")
    worker = make_worker(
        batch_size=4,
        on_step=lambda step, total: seen_pending.append(
            lane.redis.xpending(stream, lane.queue.group)["pending"]
        ),
    )

    outcomes = [worker.run_batch() for _ in range(6)]

    assert outcomes == [["succeeded"]] * 6
    assert calls == [
        ["first"],
        ["more steps"],
        ["taller"],
        ["other guidance"],
        ["with a negative prompt"],
        ["like the first"],
    ]
    # Only the entry being rendered is taken: the incompatible ones wait for any worker.
    assert set(seen_pending) == {1}
    assert all(charged_once(owner, job_id) for job_id in jobs)


def test_a_batch_stops_at_the_image_budget(make_user, submit, make_worker, calls):
    user = make_user(tier="basic")
    for prompt, images in (("a", 2), ("b", 1), ("c", 2)):
        submit(user, prompt=prompt, num_images=images)
    worker = make_worker(batch_size=3)

    assert worker.run_batch() == ["succeeded", "succeeded"]
    assert worker.run_batch() == ["succeeded"]
    assert calls == [["a", "b"], ["c"]]


class _Refusing:
    """S3 answering ``error`` for some keys (the worker only ever calls ``put_png``)."""

    def __init__(self, storage: ImageStorage, keys: set[str], error: BaseException) -> None:
        self.storage = storage
        self.keys = keys
        self.error = error

    def put_png(self, key: str, png: bytes) -> None:
        if key in self.keys:
            raise self.error
        self.storage.put_png(key, png)


ACCESS_DENIED = ClientError(
    {"Error": {"Code": "AccessDenied"}, "ResponseMetadata": {"HTTPStatusCode": 403}},
    "PutObject",
)


def test_one_jobs_failed_upload_leaves_the_others_done_and_is_retried_on_its_own(
    make_user, submit, make_worker, owner, lane, s3, storage, calls
):
    user = make_user()
    jobs = [submit(user, prompt=f"job {n}") for n in range(3)]
    refused = {image.s3_key for image in planned_images_of(owner, jobs[1])}
    worker = make_worker(batch_size=4, reclaim_idle_seconds=0.4, heartbeat_seconds=0.2)
    # For good (a permission error), not an outage the worker would wait out.
    worker.storage = cast(ImageStorage, _Refusing(storage, refused, ACCESS_DENIED))

    assert worker.run_batch() == ["succeeded", "retry", "succeeded"]

    assert [job_status(owner, job_id)[0] for job_id in jobs] == [
        "succeeded",
        "running",
        "succeeded",
    ]
    assert objects_of(s3, owner, jobs[1]) == []
    assert lane.redis.xpending(lane.queue.stream("free"), lane.queue.group)["pending"] == 1
    # Reclaimed once its entry is idle, by a worker whose S3 works: done, charged once.
    time.sleep(0.5)
    rescuer = make_worker(batch_size=4, reclaim_idle_seconds=0.4)
    assert rescuer.run_batch() == ["succeeded"]
    assert calls[-1] == ["job 1"]
    assert all(charged_once(owner, job_id) for job_id in jobs)
    assert [images_recorded(owner, job_id) for job_id in jobs] == [1, 1, 1]


def test_a_pipeline_failure_sends_each_job_back_to_the_queue_on_its_own(
    make_user, submit, make_worker, owner, lane, monkeypatch
):
    user = make_user()
    jobs = [submit(user, prompt=f"job {n}") for n in range(3)]
    real = runner.render_batch

    def cuda_error(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("CUDA error: an illegal memory access was encountered")

    monkeypatch.setattr(runner, "render_batch", cuda_error)
    assert make_worker(batch_size=4, reclaim_idle_seconds=0.4).run_batch() == ["retry"] * 3
    assert all(job_status(owner, job_id)[0] == "running" for job_id in jobs)
    pending = lane.redis.xpending_range(lane.queue.stream("free"), lane.queue.group, "-", "+", 10)
    assert [entry["times_delivered"] for entry in pending] == [1, 1, 1]

    monkeypatch.setattr(runner, "render_batch", real)
    time.sleep(0.5)
    rescuer = make_worker(batch_size=4, reclaim_idle_seconds=0.4)
    outcomes = [outcome for _ in range(3) for outcome in rescuer.run_batch()]
    assert outcomes == ["succeeded"] * 3
    # Each delivery counted for its own job: a second try, not a third.
    assert all(charged_once(owner, job_id) for job_id in jobs)


def test_jobs_of_a_missing_model_in_one_batch_are_each_failed_and_refunded_once(
    make_user, submit, make_worker, owner
):
    users = [make_user() for _ in range(2)]
    before = [balance_and_ledger(owner, user.id)[0] for user in users]
    jobs = [submit(user, model="sdxl-base") for user in users]

    assert make_worker(batch_size=4).run_batch() == ["failed", "failed"]

    for user, job_id, balance in zip(users, jobs, before, strict=True):
        assert job_status(owner, job_id) == ("failed", JOB_ERRORS["model_unavailable"])
        assert [key for key, _ in ledger_keys(owner, job_id)] == [
            f"debit:{job_id}",
            f"refund:{job_id}",
        ]
        assert balance_and_ledger(owner, user.id)[0] == balance


class _Crash(BaseException):
    """The process dying mid-batch (no ``except Exception`` catches it)."""


def test_a_worker_dying_mid_batch_is_taken_over_without_a_second_charge_or_image(
    make_user, submit, make_worker, owner, lane, storage, calls
):
    user = make_user()
    jobs = [submit(user, prompt=f"job {n}") for n in range(3)]
    crash_at = {image.s3_key for image in planned_images_of(owner, jobs[1])}
    dying = make_worker(batch_size=4, reclaim_idle_seconds=0.4, heartbeat_seconds=0.2)
    dying.storage = cast(ImageStorage, _Refusing(storage, crash_at, _Crash()))
    with pytest.raises(_Crash):
        dying.run_batch()
    assert [job_status(owner, job_id)[0] for job_id in jobs] == ["succeeded", "running", "running"]

    time.sleep(0.5)  # the dead worker's leases and entries run out
    rescuer = make_worker(batch_size=4, reclaim_idle_seconds=0.4)
    outcomes = [outcome for _ in range(2) for outcome in rescuer.run_batch()]

    assert outcomes == ["succeeded", "succeeded"]
    assert calls == [["job 0", "job 1", "job 2"], ["job 1"], ["job 2"]]
    assert all(job_status(owner, job_id)[0] == "succeeded" for job_id in jobs)
    assert all(charged_once(owner, job_id) for job_id in jobs)
    assert [images_recorded(owner, job_id) for job_id in jobs] == [1, 1, 1]
    balance, total, _ = balance_and_ledger(owner, user.id)
    assert balance == total
    assert lane.queue.lengths()["free"] == 0


def planned_images_of(owner: Any, job_id: uuid.UUID) -> list[PlannedImage]:
    return planned_images(message_of(owner, job_id))


def test_one_call_never_mixes_batch_keys(pipelines):
    pipeline = pipelines.get(TINY_MODEL_ID)
    plain = GenerationParams(TINY_MODEL_ID, "a fox", "", 64, 64, 1, 7.5, 1, 1)
    negative = GenerationParams(TINY_MODEL_ID, "a fox", "snow", 64, 64, 1, 7.5, 1, 1)
    with pytest.raises(ValueError, match="different batch keys"):
        render_batch(pipeline, [plain, negative])
    assert [len(pngs) for pngs in render_batch(pipeline, [plain, plain])] == [1, 1]
