"""Render the missing segments as tasks on a Ray cluster (``gan.executor: ray``).

What runs where:

- The driver (``render_frames.py``, started by Make) cuts the walk into the same segments
  as a local render (:func:`dreamreel.gan.render.plan_render`), looks in the cache for the
  ones that exist already (rendered here, by another machine, or by a local render), and
  hands each missing one to Ray as a task with its latent slice. It never loads the model:
  one task asks a worker to describe it (identity, size, the arrays it reads), which is
  what the cache keys need. The manifest, the concat and every later stage stay in Make.
- A worker renders one segment into ``gan.cache_dir`` under the segment's key, written to
  a temporary name and renamed when whole, exactly as a local render does. So a local and a
  Ray render write the same bytes under the same names, and reuse each other's segments.
  The model is built once per worker process and kept for its next tasks.
- The cache is the only thing the nodes share: workers get their latents through Ray, not
  from the build folder, but write their segments to ``gan.cache_dir``, which must be the
  same folder, at the same path, on every node (a shared filesystem; on one machine it
  always is). The driver checks that each finished segment is there, and says so in one
  line if a worker wrote to a folder the driver cannot see.

Faults: a worker that dies mid-segment leaves only a temporary file (swept by the next
write of that segment) and its task is run again by Ray on another worker (``max_retries``),
with the same bytes. Two renders of one piece at once may render the same segment twice;
each writes its own temporary and the second rename replaces identical bytes.

Ray itself: ``RAY_ADDRESS`` (host:port of a cluster's head, or ``ray://host:port``) joins
an existing cluster; without it an embedded Ray starts on 127.0.0.1 for this render only
(no dashboard, quiet) and stops with it. The driver ships this package to the workers
(Ray's ``py_modules``), so every node runs the driver's renderer; the nodes need the same
Python packages (torch, numpy) and ffmpeg, and the model files at the same paths.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import sys
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path

from dreamreel.core.atomic import remove_stale_temporaries
from dreamreel.core.errors import EXIT_USER_ERROR, DreamreelError
from dreamreel.gan import render
from dreamreel.gan.models.registry import ModelRequest, announce

# Seconds to wait for a cluster's head to accept a connection before giving up.
CONNECT_TIMEOUT_S = 5.0
# Seconds for Ray to join a head that accepted the connection.
JOIN_TIMEOUT_S = 30.0
# Ray runs a task again on another worker when its worker process dies (not when it raises).
TASK_RETRIES = 3
# Tasks handed to Ray per worker: one running, one queued so no worker waits for the
# driver. Bounded, so the latents in flight stay a few segments whatever the song's length.
TASKS_PER_WORKER = 2


@dataclasses.dataclass(frozen=True)
class Layout:
    """How the render is spread: ``workers`` tasks at once, each with ``threads`` CPU
    threads, on a GPU each when ``gpu``."""

    workers: int
    threads: int
    gpu: bool

    def task_options(self) -> dict:
        # One GPU per task is what makes one worker per GPU; on CPUs the task reserves the
        # cores its threads use, so Ray never puts more threads on a node than it has cores.
        if self.gpu:
            return {"num_gpus": 1, "num_cpus": 1, "max_retries": TASK_RETRIES}
        return {"num_cpus": self.threads, "max_retries": TASK_RETRIES}


def plan_layout(*, total_cpus: int, node_cpus: list[int], gpus: int, device: str, workers: int | None, threads: int | None) -> Layout:
    """The :class:`Layout` for a cluster of ``node_cpus`` cores per node and ``gpus`` GPUs.

    ``workers`` None: one per GPU (when the cluster has GPUs and ``device`` is not cpu),
    else one per node. ``threads`` (gan.threads; None = every core of the cluster) is split
    evenly between the workers, and never exceeds the cores of the largest node.
    """
    gpu = gpus > 0 and device != "cpu"
    if workers is None:
        workers = gpus if gpu else max(1, len(node_cpus))
    share = max(1, (threads or total_cpus) // workers)
    return Layout(workers=workers, threads=min(share, max(node_cpus or [1])), gpu=gpu)


def ray_address() -> str:
    """The cluster to join (``RAY_ADDRESS``), or "" for an embedded one."""
    return os.environ.get("RAY_ADDRESS", "").strip()


def _unreachable(address: str, problem: str) -> DreamreelError:
    return DreamreelError(f"RAY_ADDRESS={address}", f"no Ray cluster answers there ({problem})", "start its head (ray start --head), fix the address, or unset RAY_ADDRESS to render on an embedded Ray here")


def check_reachable(address: str, *, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Raise our one line unless something accepts a connection at ``address`` within
    ``timeout_s``: Ray itself retries an absent head for minutes."""
    if address == "auto":
        return  # Ray finds the cluster started on this machine, or says there is none
    host_port = address.split("://", 1)[-1].rstrip("/")
    host, _, port = host_port.rpartition(":")
    if not host or not port.isdigit():
        raise DreamreelError(f"RAY_ADDRESS={address}", "not an address of the form host:port (or ray://host:port)", "give the head's address, as ray start --head printed it")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            pass
    except OSError as error:
        raise _unreachable(address, error.strerror or type(error).__name__) from None


def _import_ray(where: str):
    try:
        import ray
    except ImportError:
        raise DreamreelError(f"{where}.executor", "ray is not installed in this Python environment", "make setup installs it (ray==2.60.0), or set gan.executor: local") from None
    return ray


def connect(ray, *, where: str) -> str:
    """Join ``RAY_ADDRESS`` or start an embedded Ray; return a word for messages."""
    # Quiet and private: no usage report, no dashboard, no worker logs in ours. A worker's
    # error comes back with its task.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    package = str(Path(__file__).resolve().parents[1])
    runtime_env = {"py_modules": [package]}
    common = {"log_to_driver": False, "logging_level": "ERROR", "runtime_env": runtime_env}
    address = ray_address()
    if address:
        check_reachable(address)
        # Something answers, but it may not be Ray, and then ray.init retries for minutes
        # whatever its timeouts say. Nothing is written yet, so a watchdog may end the
        # process with our line once JOIN_TIMEOUT_S have passed.
        # Ray's core also prints its retries straight to stderr: they are set aside until
        # it has joined, so that a failure says only our line.
        sys.stderr.flush()
        stderr = os.dup(2)
        aside = tempfile.TemporaryFile()
        os.dup2(aside.fileno(), 2)

        def give_up() -> None:
            os.write(stderr, f"dreamreel: error: {_unreachable(address, f'nothing there spoke Ray within {JOIN_TIMEOUT_S:g} s')}\n".encode())
            os._exit(EXIT_USER_ERROR)

        watchdog = threading.Timer(JOIN_TIMEOUT_S, give_up)
        watchdog.daemon = True
        watchdog.start()
        try:
            ray.init(address=address, **common)
        except (ConnectionError, TimeoutError, RuntimeError) as error:
            raise _unreachable(address, str(error).splitlines()[0] if str(error) else type(error).__name__) from None
        finally:
            watchdog.cancel()
            os.dup2(stderr, 2)
            os.close(stderr)
            aside.close()
        return f"the cluster at {address}"
    ray.init(address="local", include_dashboard=False, _node_ip_address="127.0.0.1", num_cpus=len(os.sched_getaffinity(0)), **common)
    return "an embedded Ray on this machine"


def layout_of_cluster(ray, *, device: str, workers: int | None, threads: int | None, where: str) -> Layout:
    """The :class:`Layout` for the cluster Ray is connected to."""
    nodes = [node for node in ray.nodes() if node.get("Alive")]
    node_cpus = [int(node.get("Resources", {}).get("CPU", 0)) for node in nodes]
    resources = ray.cluster_resources()
    layout = plan_layout(total_cpus=int(resources.get("CPU", 0)), node_cpus=node_cpus, gpus=int(resources.get("GPU", 0)), device=device, workers=workers, threads=threads)
    if device == "cuda" and not layout.gpu:
        raise DreamreelError(f"{where}.device", "cuda was asked for but the Ray cluster has no GPU", "set gan.device: auto or cpu, or join a cluster with GPUs")
    if not layout.gpu and layout.workers * layout.threads > sum(node_cpus):
        print(f"render: gan.ray_workers = {layout.workers} with {layout.threads} thread(s) each, but the cluster has {sum(node_cpus)} cores: "
              f"{max(1, sum(node_cpus) // layout.threads)} run at a time", file=sys.stderr)
    return layout


# ---- On the workers ---------------------------------------------------------------------
# One model per worker process, kept for its next tasks: (request, the model).
_LOADED: list = []


def _model_for(request: ModelRequest, where: str):
    """The model ``request`` asks for, built once per worker process."""
    from dreamreel.gan.models.registry import load_model

    if _LOADED and _LOADED[0] == request:
        return _LOADED[1]
    _LOADED.clear()
    choice = load_model(request, where=where)
    _LOADED.extend([request, choice])
    return choice


def describe_model(request: ModelRequest, where: str) -> dict:
    """A worker's model, as the driver needs it for the cache keys and the manifest."""
    choice = _model_for(request, where)
    model = choice.model
    return {"name": model.name, "identity": model.identity, "size_px": int(model.size_px), "latent_keys": tuple(model.latent_keys),
            "metadata": choice.metadata(), "device": getattr(model, "device", "cpu"), "host": socket.gethostname()}


def render_segment(request: ModelRequest, where: str, identity: str, arrays: dict, segment: render.Segment, *, out_size_px: int, fps: Fraction, batch_size: int | None) -> dict:
    """Render one segment on a worker into its file in the shared cache; say where it went."""
    import numpy as np

    choice = _model_for(request, where)
    model = choice.model
    if model.identity != identity:
        # A segment is named by the model that draws it; another one would lie about its bytes.
        raise DreamreelError(f"{where}.device", f"the worker on {socket.gethostname()} draws with {model.identity}, the others with {identity}",
                             "set gan.device and gan.precision explicitly so that every node draws alike")
    n = segment.frames
    plan = render.RenderPlan([segment], arrays, tuple(arrays), np.arange(n), 1, n, int(model.size_px), int(out_size_px), fps)
    # The segment's frames are rows [0, n) of the slice the driver sent.
    local = dataclasses.replace(segment, start=0, stop=n)
    batch = batch_size or render.auto_batch_size(getattr(model, "device", "cpu"), model.size_px)
    render.write_segments(model, plan, [local], batch_size=int(batch))
    return {"path": str(segment.path), "host": socket.gethostname(), "pid": os.getpid()}


# ---- On the driver ----------------------------------------------------------------------
def _failure(ray, error: BaseException, *, what: str, cluster: str) -> BaseException:
    """What to raise for a task that failed: what it raised on its worker (a user's error
    stays one line, a bug keeps its traceback), or our line when its worker kept dying."""
    if isinstance(error, ray.exceptions.RayTaskError):
        cause = getattr(error, "cause", None)
        return cause if isinstance(cause, BaseException) else error
    return DreamreelError(f"render on {cluster}", f"{what} failed {TASK_RETRIES + 1} times ({type(error).__name__})",
                          "a worker keeps dying (out of memory?): see the Ray logs on its node, or render with gan.executor: local")


def render_on_ray(
    latents: dict,
    request: ModelRequest,
    segments_dir: str | Path,
    *,
    fps: Fraction,
    out_size_px: int | None,
    frame_stride: int,
    segment_s: float,
    batch_size: int | None,
    workers: int | None,
    label: str = "render",
    where: str = "params.yaml: gan",
    latents_where: str = "latents.npz",
    progress_stream=None,
) -> tuple[list[render.Segment], dict[str, str], int]:
    """Render the missing segments on Ray; return (all segments in order, the model's
    metadata for the manifest, the frame edge in the files).

    ``request`` is the model as a local render would build it; its device and threads are
    set here for each worker. See the module doc for what runs where.
    """
    ray = _import_ray(where)
    segments_dir = Path(segments_dir).resolve()
    segments_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(segments_dir)
    stream = progress_stream or sys.stderr
    started = time.monotonic()
    cluster = connect(ray, where=where)
    try:
        layout = layout_of_cluster(ray, device=request.compute.device, workers=workers, threads=request.compute.threads, where=where)
        # Every worker draws on the same kind of device, so all agree on the model's identity.
        compute = dataclasses.replace(request.compute, device="cuda" if layout.gpu else "cpu", threads=layout.threads)
        request = dataclasses.replace(request, compute=compute)
        options = layout.task_options()
        describe = ray.remote(describe_model).options(**options)
        try:
            model = ray.get(describe.remote(request, where))
        except ray.exceptions.RayError as error:
            raise _failure(ray, error, what="loading the model on a worker", cluster=cluster) from None
        if model["metadata"]["dreamreel_model_requested"] == "auto":
            # The worker chose; say what, as a local render would.
            announce(f"model: auto -> {model['metadata']['dreamreel_model']} ({model['metadata']['dreamreel_model_reason']}), on the workers")
        plan = render.plan_render(latents, segments_dir, name=model["name"], identity=model["identity"], size_px=model["size_px"], latent_keys=model["latent_keys"],
                                  fps=fps, out_size_px=out_size_px, frame_stride=frame_stride, segment_s=segment_s, where=latents_where)
        todo = plan.missing()
        print(f"{label}: on {cluster}: {layout.workers} worker(s) × {layout.threads} thread(s){' and a GPU' if layout.gpu else ''}, ready in {time.monotonic() - started:.1f} s", file=stream)
        render.announce_plan(plan, plan.segments, todo, label=label, identity=model["identity"], stream=stream)
        progress = render.Progress(plan.n_frames, sum(s.frames for s in todo), label=label, stream=stream)
        progress.advance(plan.n_frames - sum(s.frames for s in todo), rendered=False)
        task = ray.remote(render_segment).options(**options)
        waiting = list(todo)
        running: dict = {}
        try:
            while waiting or running:
                while waiting and len(running) < layout.workers * TASKS_PER_WORKER:
                    segment = waiting.pop(0)
                    ref = task.remote(request, where, model["identity"], plan.slices(segment), segment, out_size_px=plan.out_size_px, fps=fps, batch_size=batch_size)
                    running[ref] = segment
                done, _ = ray.wait(list(running), num_returns=1)
                segment = running.pop(done[0])
                try:
                    result = ray.get(done[0])
                except ray.exceptions.RayError as error:
                    raise _failure(ray, error, what=f"rendering frames {segment.start}–{segment.stop}", cluster=cluster) from None
                if not segment.path.is_file():
                    raise DreamreelError(str(segments_dir), f"the worker on {result['host']} wrote segment {segment.path.name} to a folder this machine does not see",
                                         "set gan.cache_dir to a folder every node sees at the same path (a shared filesystem)")
                progress.advance(segment.frames, rendered=True)
        except BaseException:
            for ref in running:
                ray.cancel(ref, force=True)
            raise
        return plan.segments, model["metadata"], plan.out_size_px
    finally:
        ray.shutdown()
