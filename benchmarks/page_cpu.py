"""CPU per request of the dashboard and the engagement page, in process, beside the floor.

On a loaded 2-core machine a page's p95 is mostly its CPU per request, and wall-clock
latencies move with whatever else runs; process CPU time moves far less. This serves the
pages through the Flask test client (no gunicorn, no sockets) with production settings
on an existing database, and the framework floor (benchmarks/floor_app.py: one row, and
50 rows with two names) the same way in the same rounds, interleaved, so each figure
stands beside a floor measured in the same moments:

    DATABASE_URL=sqlite:////tmp/copy-of-10k.db .venv/bin/python benchmarks/page_cpu.py
    .venv/bin/python benchmarks/page_cpu.py --profile dashboard  # + cProfile, top 40

Prints, per page: CPU ms per request (median of the rounds' means), its ratio to the
50-row floor, SQL statements per request and the HTML's size. The database must hold the
demo's manager (`flask seed-demo`); it is only read (sign-in writes the session's rows).
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# --compare-root runs this script again on another tree's code (its own `tracker`)
TREE = Path(os.environ.get("PAGE_CPU_TREE", ROOT))
sys.path.insert(0, str(TREE))

import argparse  # noqa: E402
import cProfile  # noqa: E402
import json  # noqa: E402
import pstats  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

MANAGER, PASSWORD = "manager@example.com", "demo-password"
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def _environment() -> None:
    if "DATABASE_URL" not in os.environ:
        raise SystemExit("Set DATABASE_URL to a seeded database (a copy: sign-in writes).")
    os.environ.setdefault("APP_ENV", "production")
    os.environ.setdefault("SECRET_KEY", "benchmark-secret-" + "x" * 32)
    os.environ.setdefault("INSTANCE_PATH", tempfile.mkdtemp(prefix="page-cpu-"))


def _signed_in_client(app):
    client = app.test_client()
    token = CSRF_RE.search(client.get("/login").get_data(as_text=True)).group(1)
    form = {"email": MANAGER, "password": PASSWORD, "csrf_token": token}
    if client.post("/login", data=form).status_code != 302:
        raise SystemExit(f"sign-in as {MANAGER} failed")
    return client


def _cpu_ms(client, urls: list[str]) -> float:
    started = time.process_time()
    for url in urls:
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{url}: {response.status_code}")
    return (time.process_time() - started) / len(urls) * 1000


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=40, help="per page per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--profile", choices=("dashboard", "engagement page"))
    parser.add_argument(
        "--compare-root",
        type=Path,
        help="another checkout (e.g. main): both trees measured, one round each in turn",
    )
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    _environment()
    if args.compare_root:
        return compare(args)

    from sqlalchemy import event, text

    from benchmarks import floor_app
    from tracker import create_app
    from tracker.extensions import db

    app = create_app()
    client = _signed_in_client(app)
    floor = floor_app.app.test_client()
    with app.app_context():
        ids = db.session.execute(text("SELECT id FROM engagement ORDER BY id")).scalars().all()
        engine = db.engine
    rng = random.Random(args.seed)
    n = args.requests
    pages = {
        "dashboard": (client, lambda i: "/dashboard"),
        "engagement page": (client, lambda i: f"/engagements/{rng.choice(ids)}"),
        "floor: one row": (floor, lambda i: f"/floor/{rng.choice(ids)}"),
        "floor: 50 rows": (floor, lambda i: f"/floor/list?state=trial&page={1 + i % 5}"),
    }
    sent: list[str] = []
    for counted in (engine, floor_app.db_engine):
        event.listen(counted, "before_cursor_execute", lambda *a: sent.append(a[2]))
    shape = {}
    for name, (who, url) in pages.items():
        _cpu_ms(who, [url(i) for i in range(10)])  # warm-up: templates, caches, statements
        sent.clear()
        body = who.get(url(0)).data
        shape[name] = (len(sent), len(body))
    figures: dict[str, list[float]] = {name: [] for name in pages}
    for _ in range(args.rounds):
        for name, (who, url) in pages.items():
            figures[name].append(_cpu_ms(who, [url(i) for i in range(n)]))
    median = {name: statistics.median(values) for name, values in figures.items()}
    floor_50 = median["floor: 50 rows"]
    backend = engine.dialect.name
    if args.json:
        print(json.dumps({"median": median, "shape": shape}))
        return
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, {backend}, load {os.getloadavg()[0]:.1f}; "
          f"{args.rounds} rounds x {n} requests, CPU ms/request (median of rounds)")  # fmt: skip
    print("| request | CPU ms | ÷ floor 50 rows | statements | bytes |")
    print("|---|---:|---:|---:|---:|")
    for name in pages:
        statements, size = shape[name]
        ratio = median[name] / floor_50 if floor_50 else 0.0
        print(f"| {name} | {median[name]:.1f} | {ratio:.1f}× | {statements} | {size:,} |")
    if args.profile:
        who, url = pages[args.profile]
        profile = cProfile.Profile()
        profile.enable()
        _cpu_ms(who, [url(i) for i in range(n)])
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)


def compare(args) -> None:
    """Each tree in its own interpreter, one round at a time in turn, on the same database."""
    runs: dict[str, list[dict]] = {"this tree": [], "other tree": []}
    for _ in range(args.rounds):
        for label, tree in (("this tree", ROOT), ("other tree", args.compare_root)):
            env = dict(os.environ, PAGE_CPU_TREE=str(tree), PYTHONDONTWRITEBYTECODE="1")
            command = [sys.executable, __file__, "--json", "--rounds", "1"]
            command += ["--requests", str(args.requests), "--seed", str(args.seed)]
            done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=tree)
            if done.returncode != 0:
                raise SystemExit(f"{tree}: {done.stderr[-2000:]}")
            runs[label].append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, load {os.getloadavg()[0]:.1f}; this tree "
          f"({ROOT}) and {args.compare_root} in turn, {args.rounds} rounds x {args.requests} "
          "requests; CPU ms/request, median of rounds")  # fmt: skip
    print("| request | this tree | ÷ floor 50 | other tree | ÷ floor 50 | this ÷ other "
          "| statements (this / other) |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---|")
    medians = {
        label: {
            name: statistics.median(run["median"][name] for run in found)
            for name in found[0]["median"]
        }
        for label, found in runs.items()
    }
    mine, other = medians["this tree"], medians["other tree"]
    for name in mine:
        statements = (
            runs["this tree"][0]["shape"][name][0],
            runs["other tree"][0]["shape"][name][0],
        )
        print(
            f"| {name} | {mine[name]:.1f} | {mine[name] / mine['floor: 50 rows']:.1f}× "
            f"| {other[name]:.1f} | {other[name] / other['floor: 50 rows']:.1f}× "
            f"| {mine[name] / other[name]:.2f} | {statements[0]} / {statements[1]} |"
        )


if __name__ == "__main__":
    main()
