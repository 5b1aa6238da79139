"""Benchmark: `docker push` and `docker pull` of a 50 MB image through Berth against the CLI.

Never run as a test. On the private test engine (scripts/test-engine; DOCKER_HOST names its
socket) it builds an image of LAYERS layers of random bytes (50 MB in all) on the busybox test
image, starts Debian's docker-registry in the engine's network (scripts/test-registry), and
times, interleaved, the first one alternating each round:
  push   `docker push` against Berth's push form (POST /images/<id>/push/, then the job's
         websocket until it ends), each into an empty registry (restarted between pushes, so
         no layer is already there)
  pull   `docker pull` against Berth's pull form (POST /images/pull/, then the job's
         websocket), each after the image was removed from the engine
Berth's time runs from the POST to the job's last message. It also counts the job's
websocket messages per second, which the job page's pace bounds (at most ten a second).
It removes its images and stops the registries at the end. See bench/README.md.
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import docker
from harness import (
    PREFIX,
    ROOT,
    BerthServer,
    Run,
    berth_server,
    docker_cli,
    job_through,
    run_bench,
)

REGISTRY_SCRIPT = ROOT / "scripts" / "test-registry"


def main() -> int:
    args = parse_args()
    cli = docker_cli(args.docker)
    if cli is None:
        return 2
    return run_bench(
        "builds a 50 MB image and runs a registry in the engine's network",
        lambda run: bench(args, run, cli),
        timeout=300,
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed pushes and pulls of each")
    parser.add_argument("--layers", type=int, default=5, help="layers the 50 MB are cut into")
    parser.add_argument("--megabytes", type=int, default=50, help="the image's own size")
    parser.add_argument("--docker", default="docker", help="the docker CLI to compare with")
    return parser.parse_args()


class Registry:
    """The open registry of scripts/test-registry, emptied by restarting it."""

    def __init__(self, engine_dir: Path) -> None:
        self.engine_dir = engine_dir
        self.address = ""

    def fresh(self) -> str:
        self.stop()
        subprocess.run([str(REGISTRY_SCRIPT), "start"], check=True, env=self._env())
        found = json.loads((self.engine_dir / "registries.json").read_text())
        self.address = found["registry"]["address"]
        return self.address

    def stop(self) -> None:
        subprocess.run([str(REGISTRY_SCRIPT), "stop"], check=False, env=self._env())

    def _env(self) -> dict:
        import os

        return {**os.environ, "BERTH_ENGINE_DIR": str(self.engine_dir)}


def bench(args: argparse.Namespace, run: Run, cli: str) -> int:
    engine_dir = Path(run.socket_path).parent
    if not (engine_dir / "dockerd.pid").exists():
        print(
            "This benchmark needs the private test engine (scripts/test-engine).", file=sys.stderr
        )
        return 2
    registry = Registry(engine_dir)
    image_id = build_image(run, args)
    repository = f"{PREFIX}{run.containers.run}-image"
    try:
        with berth_server(run.tmp, docker_host=run.docker_host) as berth:
            return measure(args, run, cli, berth, registry, image_id, repository)
    finally:
        registry.stop()
        for image in {*run.api.images(name=f"*/{repository}", quiet=True), image_id}:
            try:
                run.api.remove_image(image, force=True)
            except docker.errors.NotFound:
                pass  # removed with another of its tags
            except docker.errors.DockerException as error:  # say what could not go
                print(f"could not remove {image}: {error}", file=sys.stderr)


def build_image(run: Run, args: argparse.Namespace) -> str:
    """LAYERS layers of random bytes on the test image: nothing compresses, nothing is shared."""
    import io

    from harness import IMAGE

    size = args.megabytes * 1024 * 1024 // args.layers
    lines = [f"FROM {IMAGE}", f"LABEL berth.bench.run={run.containers.run}"]
    lines += [f"RUN head -c {size} /dev/urandom > /layer-{n}" for n in range(args.layers)]
    output = list(
        run.api.build(fileobj=io.BytesIO("\n".join(lines).encode()), rm=True, decode=True)
    )
    errors = [line for line in output if "error" in line]
    if errors:
        raise RuntimeError(f"building the image failed: {errors}")
    return next(line["aux"]["ID"] for line in output if "ID" in line.get("aux", {}))


def measure(args, run, cli, berth, registry, image_id, repository) -> int:
    times: dict[str, list[float]] = {
        key: [] for key in ("cli push", "berth push", "cli pull", "berth pull")
    }
    rates: list[float] = []
    for round_number in range(args.rounds):
        order = ("cli", "berth") if round_number % 2 == 0 else ("berth", "cli")
        for who in order:
            reference = tag_for(run, image_id, registry.fresh(), repository)
            seconds, rate = push(who, cli, run, berth, image_id, reference)
            times[f"{who} push"].append(seconds)
            rates += [rate] if rate is not None else []
        for who in order:
            forget(run, image_id, repository)
            seconds, rate = pull(who, cli, run, berth, reference)
            times[f"{who} pull"].append(seconds)
            rates += [rate] if rate is not None else []
            image_id = run.api.inspect_image(reference)["Id"]
        print(
            f"round {round_number + 1}: "
            + ", ".join(f"{key} {values[-1]:.2f} s" for key, values in times.items()),
            flush=True,
        )
    medians = {key: statistics.median(values) for key, values in times.items()}
    for key, values in times.items():
        print(
            f"{key:11} median {medians[key]:.2f} s (min {min(values):.2f}, max {max(values):.2f})"
        )
    push_ratio = medians["berth push"] / medians["cli push"]
    pull_ratio = medians["berth pull"] / medians["cli pull"]
    fastest, typical = max(rates), statistics.median(rates)
    print(f"job websocket: at most {fastest:.1f} messages a second (median {typical:.1f})")
    print(
        f"{args.megabytes} MB in {args.layers} layers: berth/cli push {push_ratio:.2f}x, "
        f"pull {pull_ratio:.2f}x; target 1.2x or better"
    )
    return 0


def tag_for(run: Run, image_id: str, address: str, repository: str) -> str:
    run.api.tag(image_id, f"{address}/{repository}", "1")
    return f"{address}/{repository}:1"


def forget(run: Run, image_id: str, repository: str) -> None:
    """The image off the engine, its layers with it (the busybox base stays)."""
    run.api.remove_image(image_id, force=True)
    for leftover in run.api.images(name=f"*/{repository}", quiet=True):
        run.api.remove_image(leftover, force=True)


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def push(who, cli, run, berth, image_id, reference) -> tuple[float, float | None]:
    if who == "cli":
        return timed(lambda: docker_command(cli, run, "push", reference)), None
    return berth_job(berth, f"/images/{image_id[7:19]}/push/", reference)


def pull(who, cli, run, berth, reference) -> tuple[float, float | None]:
    if who == "cli":
        return timed(lambda: docker_command(cli, run, "pull", reference)), None
    return berth_job(berth, "/images/pull/", reference)


def docker_command(cli: str, run: Run, *words: str) -> None:
    env = {"DOCKER_HOST": run.docker_host, "PATH": "/usr/bin:/bin"}
    subprocess.run([cli, *words], check=True, env=env, stdout=subprocess.DEVNULL)


def berth_job(berth: BerthServer, path: str, reference: str) -> tuple[float, float]:
    """POSTs the form, follows the job's websocket to its end: (seconds, messages a second)."""
    return job_through(berth, path, {"reference": reference})


if __name__ == "__main__":
    sys.exit(main())
