"""Rendering on Ray: a real two-node cluster on loopback, the same bytes as a local render,
reuse both ways, a worker killed mid-segment, an unreachable head; and the pieces that need
no cluster (layout, shards, temporaries of other machines)."""

from __future__ import annotations

import json
import os
import pickle
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from dreamreel.core import atomic
from dreamreel.core.errors import DreamreelError, run_cli
from dreamreel.core.npz import save_npz
from dreamreel.gan import cluster, render
from gan_helpers import walk, write_params

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def cli(module: str, *args) -> int:
    script = __import__(module)
    return run_cli(script.main, [str(a) for a in args])


def segment_bytes(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.glob("[0-9a-f]*.mkv"))}


# ---- Without a cluster ----------------------------------------------------------------
def test_one_worker_per_gpu_each_task_holding_one():
    layout = cluster.plan_layout(total_cpus=32, node_cpus=[16, 16], gpus=4, device="auto", workers=None, threads=None)
    assert (layout.workers, layout.gpu) == (4, True)
    assert layout.task_options()["num_gpus"] == 1


def test_without_gpus_one_worker_per_node_or_n_workers_with_the_threads_split():
    assert cluster.plan_layout(total_cpus=8, node_cpus=[4, 4], gpus=0, device="auto", workers=None, threads=None) == cluster.Layout(2, 4, False)
    assert cluster.plan_layout(total_cpus=2, node_cpus=[2], gpus=0, device="auto", workers=2, threads=None) == cluster.Layout(2, 1, False)
    assert cluster.plan_layout(total_cpus=16, node_cpus=[16], gpus=0, device="auto", workers=4, threads=8) == cluster.Layout(4, 2, False)
    # device: cpu keeps the GPUs out of it; a worker never gets more threads than a node has cores.
    assert cluster.plan_layout(total_cpus=12, node_cpus=[8, 2, 2], gpus=2, device="cpu", workers=1, threads=None) == cluster.Layout(1, 8, False)
    options = cluster.Layout(2, 3, False).task_options()
    assert options["num_cpus"] == 3 and "num_gpus" not in options and options["max_retries"] >= 1


def test_shards_cover_every_segment_once_in_runs():
    segments = [render.Segment(i, i + 1, str(i), Path(str(i))) for i in range(10)]
    for n in (1, 3, 4, 10, 12):
        shares = [render.shard_of(segments, (k, n)) for k in range(1, n + 1)]
        assert [s for share in shares for s in share] == segments
        assert max(map(len, shares)) - min(map(len, shares)) <= 1


@pytest.mark.parametrize("bad", ["0/4", "5/4", "2", "a/b", "2/0"])
def test_a_bad_shard_is_refused_by_the_option_parser(tmp_path, bad, capsys):
    save_npz(tmp_path / "latents.npz", walk(10))
    gan = write_params(tmp_path / "gan.json", {"model": "cppn", "size_px": 16})
    with pytest.raises(SystemExit) as stop:
        cli("render_frames", tmp_path / "latents.npz", tmp_path / "s.json", "--params", gan, "--segments-dir", tmp_path / "seg", "--shard", bad)
    assert stop.value.code == 2 and "K/N" in capsys.readouterr().err


def test_shards_rendered_apart_are_the_whole_render(tmp_path):
    save_npz(tmp_path / "latents.npz", walk(40))
    gan = write_params(tmp_path / "gan.json", {"model": "cppn", "size_px": 16, "segment_s": 0.25})
    for k in (1, 2, 3):
        assert cli("render_frames", tmp_path / "latents.npz", tmp_path / "s.json", "--params", gan, "--segments-dir", tmp_path / "shards", "--shard", f"{k}/3") == 0
    assert not (tmp_path / "s.json").exists()  # a share writes no manifest
    assert cli("render_frames", tmp_path / "latents.npz", tmp_path / "whole.json", "--params", gan, "--segments-dir", tmp_path / "whole") == 0
    assert segment_bytes(tmp_path / "shards") == segment_bytes(tmp_path / "whole")
    assert len(segment_bytes(tmp_path / "whole")) == 5


def test_the_cppn_draws_the_same_bytes_with_one_thread_or_two(tmp_path):
    save_npz(tmp_path / "latents.npz", walk(60))
    for threads in (1, 2):
        gan = write_params(tmp_path / f"gan{threads}.json", {"model": "cppn", "size_px": 32, "segment_s": 0.5, "threads": threads})
        assert cli("render_frames", tmp_path / "latents.npz", tmp_path / f"s{threads}.json", "--params", gan, "--segments-dir", tmp_path / f"t{threads}") == 0
    assert segment_bytes(tmp_path / "t1") == segment_bytes(tmp_path / "t2")


def test_a_temporary_of_another_machine_is_kept_until_it_goes_quiet(tmp_path):
    other_host = "0" * 8 if atomic.HOST_TAG != "0" * 8 else "1" * 8
    busy = tmp_path / f".seg.{os.getpid() + 10**7}-5-h{other_host}.abcd1234.part.mkv"  # a pid no process here has
    quiet = tmp_path / f".old.{os.getpid() + 10**7}-5-h{other_host}.abcd1234.part.mkv"
    for path in (busy, quiet):
        path.write_bytes(b"x")
    stale = time.time() - atomic.FOREIGN_STALE_S - 60
    os.utime(quiet, (stale, stale))
    assert atomic.remove_stale_temporaries(tmp_path) == [quiet]
    assert busy.exists()
    assert atomic.target_of(busy) == tmp_path / "seg.mkv"
    # This machine's own temporaries carry its tag.
    assert f"-h{atomic.HOST_TAG}." in atomic.temporary_sibling(tmp_path / "x.mkv").name


def test_a_users_error_comes_back_whole_from_another_process():
    error = pickle.loads(pickle.dumps(DreamreelError("params.yaml: gan.device", "no GPU", "set gan.device: cpu")))
    assert (error.where, error.problem, error.fix) == ("params.yaml: gan.device", "no GPU", "set gan.device: cpu")


def test_executor_ray_without_ray_installed_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    save_npz(tmp_path / "latents.npz", walk(10))
    gan = write_params(tmp_path / "gan.json", {"model": "cppn", "size_px": 16, "executor": "ray"})
    assert cli("render_frames", tmp_path / "latents.npz", tmp_path / "s.json", "--params", gan, "--segments-dir", tmp_path / "seg") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "gan.executor" in err and "ray is not installed" in err
    assert not (tmp_path / "s.json").exists()


@pytest.mark.parametrize("address", ["nonsense", "127.0.0.1:notaport"])
def test_an_address_that_is_not_host_port_is_one_line(address, monkeypatch):
    with pytest.raises(DreamreelError, match="host:port"):
        cluster.check_reachable(address)


# ---- A real cluster on loopback ------------------------------------------------------
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def processes_under(folder: str) -> list[int]:
    """Processes that name ``folder`` on their command line or hold a file in it open: the
    cluster these tests started (Ray's agents rename themselves, but keep their logs open)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if folder.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
                continue
            for handle in (entry / "fd").iterdir():
                if os.readlink(handle).startswith(folder + "/"):
                    found.append(int(entry.name))
                    break
        except OSError:
            continue
    return found


def running(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie nobody reaped has stopped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def stop_processes(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and any(map(running, pids)):
        time.sleep(0.1)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module")
def ray_cluster():
    """A head and a second node, one CPU each, on 127.0.0.1, in a private temporary folder;
    stopped afterwards by their process ids (never `ray stop`, which stops every Ray here)."""
    pytest.importorskip("ray")
    # Short: Ray puts unix sockets under it, whose paths may not pass 107 characters.
    folder = tempfile.mkdtemp(prefix="rt", dir="/tmp")
    port = free_port()
    env = dict(os.environ, RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0")
    env.pop("RAY_ADDRESS", None)
    ray_cli = str(Path(sys.executable).parent / "ray")
    common = ["--node-ip-address=127.0.0.1", "--num-cpus=1", "--num-gpus=0", f"--temp-dir={folder}", "--disable-usage-stats"]
    try:
        subprocess.run([ray_cli, "start", "--head", f"--port={port}", "--include-dashboard=false", *common], env=env, check=True, capture_output=True, timeout=120)
        subprocess.run([ray_cli, "start", f"--address=127.0.0.1:{port}", *common], env=env, check=True, capture_output=True, timeout=120)
        yield {"address": f"127.0.0.1:{port}", "env": dict(env, RAY_ADDRESS=f"127.0.0.1:{port}")}
    finally:
        stop_processes(processes_under(folder))
        subprocess.run(["rm", "-rf", folder], check=False)


def ray_render(latents: Path, manifest: Path, params: Path, segments: Path, env: dict, **popen) -> subprocess.Popen:
    command = [sys.executable, str(SCRIPTS / "render_frames.py"), str(latents), str(manifest), "--params", str(params), "--segments-dir", str(segments)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


@pytest.fixture(scope="module")
def piece(tmp_path_factory):
    """A 3-second walk at 30 fps, and its cppn render at 32 px in 6 segments, made locally."""
    folder = tmp_path_factory.mktemp("piece")
    save_npz(folder / "latents.npz", walk(90))
    write_params(folder / "local.json", {"model": "cppn", "size_px": 32, "segment_s": 0.5})
    write_params(folder / "ray.json", {"model": "cppn", "size_px": 32, "segment_s": 0.5, "executor": "ray"})
    assert cli("render_frames", folder / "latents.npz", folder / "local-segments.json", "--params", folder / "local.json", "--segments-dir", folder / "local") == 0
    return folder


@pytest.mark.ray
def test_a_render_on_a_two_node_cluster_has_the_local_bytes_and_each_reuses_the_other(ray_cluster, piece, tmp_path):
    child = ray_render(piece / "latents.npz", tmp_path / "segments.json", piece / "ray.json", tmp_path / "cache", ray_cluster["env"])
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    assert f"the cluster at {ray_cluster['address']}: 2 worker(s)" in err
    local = segment_bytes(piece / "local")
    assert len(local) == 6 and segment_bytes(tmp_path / "cache") == local
    manifest = json.loads((tmp_path / "segments.json").read_text())
    assert [Path(s["file"]).name for s in manifest["segments"]] == [Path(s["file"]).name for s in json.loads((piece / "local-segments.json").read_text())["segments"]]
    assert manifest["metadata"]["dreamreel_model"] == "cppn"
    # The cluster finds the local render's segments and renders none of them again ...
    before = {p.name: p.stat().st_mtime_ns for p in (piece / "local").glob("*.mkv")}
    child = ray_render(piece / "latents.npz", tmp_path / "again.json", piece / "ray.json", piece / "local", ray_cluster["env"])
    _, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    assert "6 cached, 0 to render" in err
    assert {p.name: p.stat().st_mtime_ns for p in (piece / "local").glob("*.mkv")} == before
    # ... and a local render finds the cluster's.
    assert cli("render_frames", piece / "latents.npz", tmp_path / "local.json", "--params", piece / "local.json", "--segments-dir", tmp_path / "cache") == 0
    assert segment_bytes(tmp_path / "cache") == local


@pytest.mark.ray
def test_a_worker_killed_mid_segment_is_retried_and_the_bytes_are_the_same(ray_cluster, tmp_path):
    # Big enough frames that a segment takes a second or two on one thread: time to kill it.
    save_npz(tmp_path / "latents.npz", walk(60))
    for name, executor in (("local", "local"), ("ray", "ray")):
        write_params(tmp_path / f"{name}.json", {"model": "cppn", "size_px": 128, "segment_s": 1.0, "executor": executor})
    child = ray_render(tmp_path / "latents.npz", tmp_path / "segments.json", tmp_path / "ray.json", tmp_path / "cache", ray_cluster["env"])
    # The worker writing a segment names itself in the temporary's name: .<key>.<pid>-<start>-h<host>....
    deadline = time.monotonic() + 60
    victim = None
    while victim is None and time.monotonic() < deadline and child.poll() is None:
        for temporary in (tmp_path / "cache").glob(".*.part.mkv"):
            match = atomic._TEMPORARY.match(temporary.name)
            if not (match and match["pid"]):
                continue
            try:
                title = Path(f"/proc/{match['pid']}/cmdline").read_bytes()
            except OSError:
                continue
            # Still at that task (Ray names the process after it), so the kill lands mid-segment.
            if title.startswith(b"ray::render_segment") and temporary.exists():
                victim = int(match["pid"])
                os.kill(victim, signal.SIGKILL)
                break
        time.sleep(0.02)
    assert victim is not None, "no worker was seen writing a segment"
    _, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    assert not running(victim)
    assert not list((tmp_path / "cache").glob(".*"))  # the killed worker's temporary was swept
    assert cli("render_frames", tmp_path / "latents.npz", tmp_path / "local.json", "--params", tmp_path / "local.json", "--segments-dir", tmp_path / "local") == 0
    assert segment_bytes(tmp_path / "cache") == segment_bytes(tmp_path / "local")


@pytest.mark.ray
def test_an_unreachable_cluster_is_one_line_and_exit_2_at_once(piece, tmp_path):
    pytest.importorskip("ray")
    env = dict(os.environ, RAY_ADDRESS=f"127.0.0.1:{free_port()}")
    started = time.monotonic()
    child = ray_render(piece / "latents.npz", tmp_path / "segments.json", piece / "ray.json", tmp_path / "cache", env)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 2
    assert time.monotonic() - started < 20
    assert err.strip().splitlines() == [err.strip()] and err.startswith("dreamreel: error: RAY_ADDRESS=127.0.0.1:")
    assert not (tmp_path / "segments.json").exists()


def test_a_worker_builds_its_model_once_for_all_its_segments(tmp_path, monkeypatch):
    from fractions import Fraction

    from dreamreel.gan.models import registry

    built = []
    real = registry.load_model
    monkeypatch.setattr(registry, "load_model", lambda request, where="params.yaml: gan": built.append(request) or real(request, where=where))
    monkeypatch.setattr(cluster, "_LOADED", [])
    request = registry.ModelRequest(name="cppn", size_px=16)
    model = cluster.describe_model(request, "params.yaml: gan")
    latents = walk(24)
    plan = render.plan_render(latents, tmp_path, name=model["name"], identity=model["identity"], size_px=16, latent_keys=model["latent_keys"], fps=Fraction(30), segment_s=0.4)
    for segment in plan.segments:
        cluster.render_segment(request, "params.yaml: gan", model["identity"], plan.slices(segment), segment, out_size_px=16, fps=Fraction(30), batch_size=None)
    assert len(built) == 1 and len(plan.segments) == 2
    local = render.render_segments(latents, real(request).model, tmp_path / "local", fps=Fraction(30), segment_s=0.4, progress_stream=open(os.devnull, "w"))
    assert [s.path.read_bytes() for s in local] == [s.path.read_bytes() for s in plan.segments]
    # A worker whose model draws differently refuses to write under another model's name.
    with pytest.raises(DreamreelError, match="draws with"):
        cluster.render_segment(request, "params.yaml: gan", "cppn-v0-other", plan.slices(plan.segments[0]), plan.segments[0], out_size_px=16, fps=Fraction(30), batch_size=None)


def test_two_renders_into_one_cache_at_once_write_whole_identical_segments(tmp_path):
    save_npz(tmp_path / "latents.npz", walk(90))
    gan = write_params(tmp_path / "gan.json", {"model": "cppn", "size_px": 64, "segment_s": 0.5, "threads": 1})
    command = [sys.executable, str(SCRIPTS / "render_frames.py"), str(tmp_path / "latents.npz")]
    children = [subprocess.Popen([*command, str(tmp_path / f"{n}.json"), "--params", str(gan), "--segments-dir", str(tmp_path / "shared")], stderr=subprocess.PIPE)
                for n in ("a", "b")]
    for child in children:
        assert child.wait(timeout=120) == 0, child.stderr.read()
        child.stderr.close()
    assert cli("render_frames", tmp_path / "latents.npz", tmp_path / "alone.json", "--params", gan, "--segments-dir", tmp_path / "alone") == 0
    assert segment_bytes(tmp_path / "shared") == segment_bytes(tmp_path / "alone")
    assert not list((tmp_path / "shared").glob(".*"))
    assert json.loads((tmp_path / "a.json").read_text())["segments"] == json.loads((tmp_path / "b.json").read_text())["segments"]
